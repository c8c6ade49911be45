package cli

import (
	"time"

	"github.com/spf13/cobra"
)

func newAlerts(env *Env) *cobra.Command {
	c := &cobra.Command{Use: "alerts", Short: "List the alerts Alertmanager sent to tsuna"}
	list := func(use, short string, unrouted bool) *cobra.Command {
		var rem remote
		var output, state, team, service string
		cmd := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				cl, err := rem.start(env, output)
				if err != nil {
					return err
				}
				q := queryOf(map[string]string{"state": state, "team": team, "service": service})
				if unrouted {
					q.Set("routed", "false")
				}
				alerts, err := cl.Alerts(cmd.Context(), q)
				if err != nil {
					return err
				}
				rows := make([][]string, len(alerts))
				for i, a := range alerts {
					rows[i] = []string{a.Status, a.Labels["alertname"], dash(a.Labels["severity"]), dash(a.Service), dash(a.Team), a.Channel,
						a.StartsAt.Format(time.RFC3339), dash(a.Annotations["summary"])}
				}
				return render(env, output, alerts, []string{"STATE", "ALERT", "SEVERITY", "SERVICE", "TEAM", "CHANNEL", "STARTED", "SUMMARY"}, rows)
			},
		}
		rem.flags(cmd)
		addOutputFlag(cmd, &output)
		cmd.Flags().StringVar(&state, "state", "", "firing or resolved")
		cmd.Flags().StringVar(&team, "team", "", "only this team's alerts")
		cmd.Flags().StringVar(&service, "service", "", "only this service's alerts")
		return cmd
	}
	c.AddCommand(
		list("list", "List alerts, most recently changed first", false),
		list("unrouted", "List alerts no catalog service or team claimed (sent to the fallback channel)", true),
	)
	return c
}
