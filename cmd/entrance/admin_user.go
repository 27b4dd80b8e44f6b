package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/store"
)

func newUserCommand(env *cliEnv) *cobra.Command {
	var tenant string
	c := groupCommand("user", "Create, list, show and delete users of a tenant (--tenant)",
		newUserCreateCommand(env, &tenant),
		&cobra.Command{
			Use:   "list --tenant T",
			Short: "List the users of a tenant",
			Args:  exactArgs(),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, _ []string) error {
				t, err := resolveTenant(ctx, st, tenant)
				if err != nil {
					return err
				}
				us, err := st.ListUsers(ctx, t.ID)
				if err != nil {
					return err
				}
				return printList(env, us, newUserView, []string{"ID", "USER PRINCIPAL NAME", "DISPLAY NAME", "TYPE", "ENABLED"}, func(u store.User) []string {
					return []string{u.ID, u.UserPrincipalName, u.DisplayName, u.UserType, yesNo(u.AccountEnabled)}
				})
			}),
		},
		&cobra.Command{
			Use:   "show --tenant T <upn|id>",
			Short: "Show a user",
			Args:  exactArgs("upn|id"),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
				_, u, err := findUser(ctx, st, tenant, args[0])
				if err != nil {
					return err
				}
				return printUser(env, u, "")
			}),
		},
		&cobra.Command{
			Use:   "delete --tenant T <upn|id>",
			Short: "Delete a user (and its group memberships and assignments)",
			Args:  exactArgs("upn|id"),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
				_, u, err := findUser(ctx, st, tenant, args[0])
				if err != nil {
					return err
				}
				if err := st.DeleteUser(ctx, u.TenantID, u.ID); err != nil {
					return objectError("user", args[0], err)
				}
				return printUser(env, u, "Deleted user:")
			}),
		},
	)
	return addTenantFlag(c, &tenant)
}

// findUser resolves --tenant and finds the user in it by UPN or object id.
func findUser(ctx context.Context, st store.Directory, tenant, key string) (store.Tenant, store.User, error) {
	t, err := resolveTenant(ctx, st, tenant)
	if err != nil {
		return t, store.User{}, err
	}
	u, err := byIDOrName(key,
		func(id string) (store.User, error) { return st.GetUser(ctx, t.ID, id) },
		func(upn string) (store.User, error) { return st.GetUserByUPN(ctx, t.ID, upn) })
	return t, u, objectError("user", key, err)
}

func newUserCreateCommand(env *cliEnv, tenant *string) *cobra.Command {
	var upn, name, given, surname, mail, password, guestOf string
	var passwordStdin bool
	c := &cobra.Command{
		Use:   "create --tenant T (--upn UPN | --guest-of HOME-UPN) [flags]",
		Short: "Create a user, or a B2B guest of a user of another tenant",
		Args:  exactArgs(),
	}
	c.RunE = runAdmin(env, func(ctx context.Context, st store.Store, _ []string) error {
		if (upn == "") == (guestOf == "") {
			return usageError{errors.New("user create: give exactly one of --upn (a member) or --guest-of (a guest; Entra makes its UPN)")}
		}
		if c.Flags().Changed("password") && passwordStdin {
			return usageError{errors.New("user create: give --password or --password-stdin, not both")}
		}
		t, err := resolveTenant(ctx, st, *tenant)
		if err != nil {
			return err
		}
		now := time.Now()
		var u store.User
		if guestOf != "" {
			home, err := findHomeUser(ctx, st, guestOf)
			if err != nil {
				return err
			}
			u = directory.NewGuest(t, home, now)
		} else {
			u = directory.NewUser(t.ID, upn, name, now)
		}
		for _, s := range []struct {
			flag string
			dst  *string
			val  string
		}{{"name", &u.DisplayName, name}, {"given-name", &u.GivenName, given}, {"surname", &u.Surname, surname}, {"mail", &u.Mail, mail}} {
			if c.Flags().Changed(s.flag) {
				*s.dst = s.val
			}
		}
		if err := directory.ValidateUser(u, t); err != nil {
			return invalid("user", err)
		}
		if passwordStdin {
			if password, err = readSecretLine(c.InOrStdin()); err != nil {
				return usageError{fmt.Errorf("--password-stdin: %w", err)}
			}
		}
		if c.Flags().Changed("password") || passwordStdin {
			if err := directory.SetPassword(&u, password, now); err != nil {
				return usageError{fmt.Errorf("user: password: %w", err)}
			}
		}
		if err := st.CreateUser(ctx, u); err != nil {
			return objectError("user", u.UserPrincipalName, err)
		}
		return printUser(env, u, "Created user:")
	})
	f := c.Flags()
	f.StringVar(&upn, "upn", "", "userPrincipalName, on a domain of the tenant")
	f.StringVar(&name, "name", "", "displayName")
	f.StringVar(&given, "given-name", "", "givenName")
	f.StringVar(&surname, "surname", "", "surname")
	f.StringVar(&mail, "mail", "", "mail")
	f.StringVar(&password, "password", "", "password (visible to other local users; prefer --password-stdin)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	f.StringVar(&guestOf, "guest-of", "", "create a B2B guest of this user of another tenant (its home UPN)")
	return c
}

// findHomeUser finds a guest's home user by UPN: the UPN's domain names the
// home tenant.
func findHomeUser(ctx context.Context, st store.Directory, upn string) (store.User, error) {
	_, domain, ok := directory.SplitUPN(upn)
	if !ok {
		return store.User{}, usageError{fmt.Errorf("--guest-of %q is not a UPN (user@domain)", upn)}
	}
	home, err := directory.ResolveTenant(ctx, st, domain)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, directory.ErrTenantAlias) {
		return store.User{}, fmt.Errorf("home user %s: no tenant has the domain %s", upn, domain)
	}
	if err != nil {
		return store.User{}, err
	}
	u, err := st.GetUserByUPN(ctx, home.ID, upn)
	if err != nil {
		return u, objectError("home user", upn, err)
	}
	if u.UserType != store.UserTypeMember {
		return u, usageError{fmt.Errorf("--guest-of %s is itself a guest; invite its home user", upn)}
	}
	return u, nil
}

// readSecretLine reads the first line of r, without its line ending.
func readSecretLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("standard input is empty")
	}
	return line, nil
}

func printUser(env *cliEnv, u store.User, headline string) error {
	fields := []field{
		{"id", u.ID},
		{"userPrincipalName", u.UserPrincipalName},
		{"displayName", u.DisplayName},
		{"givenName", u.GivenName},
		{"surname", u.Surname},
		{"mail", u.Mail},
		{"accountEnabled", fmt.Sprint(u.AccountEnabled)},
		{"userType", u.UserType},
	}
	if u.UserType == store.UserTypeGuest {
		fields = append(fields, field{"homeTenantId", u.HomeTenantID}, field{"homeUserId", u.HomeUserID})
	}
	password := "none"
	if u.PasswordHash != "" {
		password = "set " + formatTime(u.LastPasswordChangeDateTime)
	}
	fields = append(fields, field{"password", password}, field{"createdDateTime", formatTime(u.CreatedDateTime)})
	return printObject(env, newUserView(u), headline, fields...)
}
