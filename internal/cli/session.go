package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newSession(env *Env) *cobra.Command {
	c := &cobra.Command{Use: "session", Short: "List and end web console sessions (yours; an admin's: everyone's)"}

	var listRem remote
	var listOut, token string
	var ended bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List console sessions, newest first",
		Long: `List web console sessions: yours, or everyone's with an admin token
(--token-name picks one token's). A session acts with the rights of the token
it was signed in with; its secret is never shown.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := listRem.start(env, listOut)
			if err != nil {
				return err
			}
			list, err := cl.Sessions(cmd.Context(), token, ended)
			if err != nil {
				return err
			}
			rows := make([][]string, len(list))
			for i, s := range list {
				state := "live"
				switch {
				case s.RevokedAt != nil:
					state = "ended " + s.RevokedAt.Format(time.RFC3339)
				case !s.Live(time.Now()):
					state = "expired"
				}
				rows[i] = []string{s.ID, s.Token, s.Via, s.CreatedAt.Format(time.RFC3339), s.LastSeenAt.Format(time.RFC3339), s.ExpiresAt.Format(time.RFC3339), state}
			}
			return render(env, listOut, list, []string{"ID", "TOKEN", "VIA", "SIGNED IN", "LAST SEEN", "EXPIRES", "STATE"}, rows)
		},
	}
	listRem.flags(list)
	addOutputFlag(list, &listOut)
	list.Flags().StringVar(&token, "token-name", "", "only the sessions of this token (admin)")
	list.Flags().BoolVar(&ended, "ended", false, "include ended and expired sessions")

	var revRem remote
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "End a console session (yours; an admin's: anyone's); audited",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := revRem.client(env)
			if err != nil {
				return err
			}
			if _, err := cl.RevokeSession(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "ended session %s\n", args[0])
			return nil
		},
	}
	revRem.flags(revoke)
	c.AddCommand(list, revoke)
	return c
}
