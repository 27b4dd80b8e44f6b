package sqlstore

import (
	"context"

	"github.com/entranceidp/entrance/internal/store"
)

// Device codes (migrations/0003_device_codes.sql). The user code has a
// unique index: it is how the device page finds the record, and a new code
// that collides with a stored one fails with ErrAlreadyExists (the caller
// draws another). Tenant and user are columns so that DeleteTenant and
// DeleteUser can remove what was issued in or to them; both are "" until
// known, hence not identifying keys.
var deviceCodes = newKind("device_codes", "device code", "id", 2,
	[]string{"id", "user_code", "tenant_id", "user_id", "expires_at"},
	func(c store.DeviceCode) []any {
		return []any{c.ID, c.UserCode, c.TenantID, c.UserID, c.ExpiresAt.UnixMilli()}
	})

func (s *Store) CreateDeviceCode(ctx context.Context, c store.DeviceCode) error {
	if err := needTime("device code", "expiresAt", c.ExpiresAt); err != nil {
		return err
	}
	return insert(ctx, s.dir, deviceCodes, c)
}

func (s *Store) GetDeviceCode(ctx context.Context, id string) (store.DeviceCode, error) {
	return get(ctx, s.dir, deviceCodes, "id = ?", id)
}

func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, userCode string) (store.DeviceCode, error) {
	return get(ctx, s.dir, deviceCodes, "user_code = ?", userCode)
}

func (s *Store) UpdateDeviceCode(ctx context.Context, id string, fn func(store.DeviceCode) (store.DeviceCode, error)) (store.DeviceCode, error) {
	return updateRow(ctx, s, deviceCodes, id, fn)
}
