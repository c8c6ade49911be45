package cli

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tsuna-sre/tsuna/internal/delivery"
)

func newOutbox(env *Env) *cobra.Command {
	c := &cobra.Command{
		Use:   "outbox",
		Short: "Show the chat messages waiting, sent and failed (the delivery outbox)",
		Long: `Every chat message tsuna sends (an alert, its resolution) is queued in the
outbox, in the transaction that records what it says, and delivered by the
delivery loop of one replica. These commands show what waits, what failed and
why: a stuck delivery (a revoked Slack token, a channel the bot is not in) is
visible here and in /metrics (tsuna_outbox_*).`,
	}
	var rem remote
	var output, state string
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List outbox messages, newest first",
		Example: `  tsuna outbox list
  tsuna outbox list --state failed
  tsuna outbox list --state pending --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := rem.start(env, output)
			if err != nil {
				return err
			}
			if state != "" && !slices.Contains(delivery.States, state) {
				return usageError{fmt.Errorf("--state %q: use one of %s", state, strings.Join(delivery.States, ", "))}
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if state != "" {
				q.Set("state", state)
			}
			msgs, err := cl.Outbox(cmd.Context(), q)
			if err != nil {
				return err
			}
			rows := make([][]string, len(msgs))
			for i, m := range msgs {
				next := "-"
				if m.State == "pending" {
					next = m.NextAttemptAt.Format(time.RFC3339)
				}
				rows[i] = []string{strconv.FormatInt(m.ID, 10), m.State, m.Channel, strconv.Itoa(m.Attempts), next,
					m.CreatedAt.Format(time.RFC3339), oneLine(m.Title, 60), dash(oneLine(m.LastError, 80))}
			}
			return render(env, output, msgs, []string{"ID", "STATE", "CHANNEL", "ATTEMPTS", "NEXT ATTEMPT", "QUEUED", "TITLE", "LAST ERROR"}, rows)
		},
	}
	rem.flags(list)
	addOutputFlag(list, &output)
	list.Flags().StringVar(&state, "state", "", "only messages in this state: "+strings.Join(delivery.States, ", "))
	list.Flags().IntVar(&limit, "limit", 100, "at most this many messages (1-1000)")

	var statsRem remote
	var statsOut string
	stats := &cobra.Command{
		Use:   "stats",
		Short: "Summarise the outbox: backlog, oldest pending message, attempts, failures by reason",
		Long: `Summarise the outbox across every replica, as /metrics exports it: messages
by state (pending is the backlog), how long the oldest pending message has
waited, the retrying ones, and failed messages by reason (the chat platform's
error code, such as channel_not_found or not_in_channel, or retries_exhausted).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := statsRem.start(env, statsOut)
			if err != nil {
				return err
			}
			st, err := cl.OutboxStats(cmd.Context())
			if err != nil {
				return err
			}
			if statsOut == "json" {
				return writeJSON(env.Stdout, st)
			}
			w := env.Stdout
			for _, s := range delivery.States {
				fmt.Fprintf(w, "%-11s %d\n", s+":", st.States[s])
			}
			fmt.Fprintf(w, "retrying:   %d pending messages whose last attempt failed\n", st.Retrying)
			if st.OldestPending != nil {
				age := time.Duration(st.OldestPendingAgeSeconds * float64(time.Second)).Round(time.Second)
				fmt.Fprintf(w, "oldest:     queued %s, waiting %s (%d attempts at most)\n", st.OldestPending.Format(time.RFC3339), age, st.MaxPendingAttempts)
			} else {
				fmt.Fprintln(w, "oldest:     nothing pending")
			}
			fmt.Fprintf(w, "attempts:   %d in all\n", st.Attempts)
			reasons := make([]string, 0, len(st.FailedByReason))
			for r := range st.FailedByReason {
				reasons = append(reasons, r)
			}
			slices.Sort(reasons)
			for _, r := range reasons {
				fmt.Fprintf(w, "failed:     %d %s\n", st.FailedByReason[r], r)
			}
			return nil
		},
	}
	statsRem.flags(stats)
	addOutputFlag(stats, &statsOut)
	c.AddCommand(list, stats)
	return c
}

// oneLine keeps the first line of s, cut to n runes.
func oneLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
