package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

func newGroupCommand(env *cliEnv) *cobra.Command {
	var tenant string
	c := groupCommand("group", "Create, list, show and delete groups of a tenant (--tenant), and change their members",
		newGroupCreateCommand(env, &tenant),
		&cobra.Command{
			Use:   "list --tenant T",
			Short: "List the groups of a tenant",
			Args:  exactArgs(),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, _ []string) error {
				t, err := resolveTenant(ctx, st, tenant)
				if err != nil {
					return err
				}
				gs, err := st.ListGroups(ctx, t.ID)
				if err != nil {
					return err
				}
				return printList(env, gs, identity, []string{"ID", "DISPLAY NAME", "SECURITY", "MEMBERS"}, func(g store.Group) []string {
					return []string{g.ID, g.DisplayName, yesNo(g.SecurityEnabled), fmt.Sprint(len(g.Members))}
				})
			}),
		},
		&cobra.Command{
			Use:   "show --tenant T <name|id>",
			Short: "Show a group and its members",
			Args:  exactArgs("name|id"),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
				g, err := findGroup(ctx, st, tenant, args[0])
				if err != nil {
					return err
				}
				return printGroup(ctx, env, st, g, "")
			}),
		},
		&cobra.Command{
			Use:   "delete --tenant T <name|id>",
			Short: "Delete a group (its members stay)",
			Args:  exactArgs("name|id"),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
				g, err := findGroup(ctx, st, tenant, args[0])
				if err != nil {
					return err
				}
				if err := st.DeleteGroup(ctx, g.TenantID, g.ID); err != nil {
					return objectError("group", args[0], err)
				}
				return printGroup(ctx, env, st, g, "Deleted group:")
			}),
		},
		groupCommand("member", "Add members to a group or remove them",
			newGroupMemberCommand(env, &tenant, "add"),
			newGroupMemberCommand(env, &tenant, "remove"),
		),
	)
	return addTenantFlag(c, &tenant)
}

func newGroupCreateCommand(env *cliEnv, tenant *string) *cobra.Command {
	var name, description string
	var securityEnabled bool
	var members []string
	c := &cobra.Command{
		Use:     "create --tenant T --name NAME [--member UPN|GROUP ...]",
		Short:   "Create a group",
		Args:    exactArgs(),
		PreRunE: requireFlags("name"),
	}
	c.RunE = runAdmin(env, func(ctx context.Context, st store.Store, _ []string) error {
		t, err := resolveTenant(ctx, st, *tenant)
		if err != nil {
			return err
		}
		g := directory.NewGroup(t.ID, name, time.Now())
		g.Description = description
		g.SecurityEnabled = securityEnabled
		for _, m := range members {
			ref, err := findMember(ctx, st, t.ID, m)
			if err != nil {
				return err
			}
			g.Members = append(g.Members, ref)
		}
		if err := directory.ValidateGroup(g); err != nil {
			return invalid("group", err)
		}
		if err := st.CreateGroup(ctx, g); err != nil {
			return objectError("group", g.DisplayName, err)
		}
		return printGroup(ctx, env, st, g, "Created group:")
	})
	f := c.Flags()
	f.StringVar(&name, "name", "", "displayName (unique in the tenant)")
	f.StringVar(&description, "description", "", "description")
	f.BoolVar(&securityEnabled, "security-enabled", true, "a security group (its id appears in the groups claim)")
	f.StringArrayVar(&members, "member", nil, "member: a user's UPN or id, or a group's name or id (repeatable)")
	return c
}

func newGroupMemberCommand(env *cliEnv, tenant *string, verb string) *cobra.Command {
	add := verb == "add"
	short := "Remove users or groups from a group"
	if add {
		short = "Add users or groups to a group"
	}
	return &cobra.Command{
		Use:   verb + " --tenant T <group> <member>...",
		Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageError{fmt.Errorf("%s: want <group> and at least one <member> (UPN, group name or id)", commandName(cmd))}
			}
			return nil
		},
		RunE: runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
			g, err := findGroup(ctx, st, *tenant, args[0])
			if err != nil {
				return err
			}
			refs := make([]store.DirectoryObjectRef, len(args)-1)
			for i, m := range args[1:] {
				if refs[i], err = findMember(ctx, st, g.TenantID, m); err != nil {
					return err
				}
			}
			g, err = st.UpdateGroup(ctx, g.TenantID, g.ID, func(g store.Group) (store.Group, error) {
				for i, ref := range refs {
					at := slices.IndexFunc(g.Members, func(m store.DirectoryObjectRef) bool { return m.ID == ref.ID })
					switch {
					case add && at >= 0:
						return g, fmt.Errorf("%s is already a member of group %s", args[i+1], g.DisplayName)
					case add:
						g.Members = append(g.Members, ref)
					case at < 0:
						return g, fmt.Errorf("%s is not a member of group %s", args[i+1], g.DisplayName)
					default:
						g.Members = slices.Delete(g.Members, at, at+1)
					}
				}
				directory.NormalizeGroup(&g)
				return g, invalid("group", directory.ValidateGroup(g))
			})
			if err != nil {
				return err
			}
			return printGroup(ctx, env, st, g, "Updated group:")
		}),
	}
}

// findGroup resolves --tenant and finds the group in it by name or object id.
func findGroup(ctx context.Context, st store.Directory, tenant, key string) (store.Group, error) {
	t, err := resolveTenant(ctx, st, tenant)
	if err != nil {
		return store.Group{}, err
	}
	g, err := byIDOrName(key,
		func(id string) (store.Group, error) { return st.GetGroup(ctx, t.ID, id) },
		func(name string) (store.Group, error) { return st.GetGroupByName(ctx, t.ID, name) })
	return g, objectError("group", key, err)
}

// findMember finds a group member in the tenant: a user by UPN (anything with
// an "@"), a user or group by object id, else a group by name.
func findMember(ctx context.Context, st store.Directory, tenantID, key string) (store.DirectoryObjectRef, error) {
	var err error
	switch {
	case strings.Contains(key, "@"):
		var u store.User
		if u, err = st.GetUserByUPN(ctx, tenantID, key); err == nil {
			return store.DirectoryObjectRef{ID: u.ID, Type: store.MemberTypeUser}, nil
		}
	case ids.IsGUID(key):
		id := strings.ToLower(key)
		if _, err = st.GetUser(ctx, tenantID, id); err == nil {
			return store.DirectoryObjectRef{ID: id, Type: store.MemberTypeUser}, nil
		}
		if errors.Is(err, store.ErrNotFound) {
			if _, err = st.GetGroup(ctx, tenantID, id); err == nil {
				return store.DirectoryObjectRef{ID: id, Type: store.MemberTypeGroup}, nil
			}
		}
	default:
		var g store.Group
		if g, err = st.GetGroupByName(ctx, tenantID, key); err == nil {
			return store.DirectoryObjectRef{ID: g.ID, Type: store.MemberTypeGroup}, nil
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.DirectoryObjectRef{}, fmt.Errorf("member %s: no user with that UPN or id, nor group with that name or id, in the tenant", key)
	}
	return store.DirectoryObjectRef{}, err
}

func printGroup(ctx context.Context, env *cliEnv, st store.Directory, g store.Group, headline string) error {
	fields := []field{
		{"id", g.ID},
		{"displayName", g.DisplayName},
		{"description", g.Description},
		{"securityEnabled", fmt.Sprint(g.SecurityEnabled)},
		{"createdDateTime", formatTime(g.CreatedDateTime)},
		{"members", fmt.Sprint(len(g.Members))},
	}
	if env.output != "json" {
		// Name the members for people; JSON keeps the ids, as Graph does.
		for _, m := range g.Members {
			fields = append(fields, field{"  " + m.Type, m.ID + "  " + memberName(ctx, st, g.TenantID, m)})
		}
	}
	return printObject(env, g, headline, fields...)
}

// memberName is a member's UPN or group name, or "?" if it cannot be read.
func memberName(ctx context.Context, st store.Directory, tenantID string, m store.DirectoryObjectRef) string {
	if m.Type == store.MemberTypeUser {
		if u, err := st.GetUser(ctx, tenantID, m.ID); err == nil {
			return u.UserPrincipalName
		}
	} else if g, err := st.GetGroup(ctx, tenantID, m.ID); err == nil {
		return g.DisplayName
	}
	return "?"
}
