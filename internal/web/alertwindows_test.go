package web_test

import (
	"html"
	"strings"
	"testing"
	"time"

	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/pgtest"
	"github.com/tsuna-sre/tsuna/internal/slo"
)

// TestSLOPageShowsTheTeamsAlertWindows: an SLO with its team's own alert
// windows (Sloth's AlertWindows) shows those windows on its page, the ones
// its rules alert on, not tsuna's defaults for the period.
func TestSLOPageShowsTheTeamsAlertWindows(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		c := startConsole(t, dsn, func(c *catalog.Catalog) {
			for _, s := range c.Services {
				for _, o := range s.SLOs {
					if s.Name == "checkout-api" && o.Name == "availability" {
						o.AlertWindows = &slo.WindowSet{Period: slo.Duration(o.Window.Length()), Pairs: []slo.WindowSpec{
							{Severity: slo.SeverityPage, Speed: "quick", Short: slo.Duration(10 * time.Minute), Long: slo.Duration(2 * time.Hour), BudgetPercent: 4},
							{Severity: slo.SeverityPage, Speed: "slow", Short: slo.Duration(time.Hour), Long: slo.Duration(12 * time.Hour), BudgetPercent: 10},
							{Severity: slo.SeverityTicket, Speed: "quick", Short: slo.Duration(4 * time.Hour), Long: slo.Duration(2 * 24 * time.Hour), BudgetPercent: 20},
							{Severity: slo.SeverityTicket, Speed: "slow", Short: slo.Duration(12 * time.Hour), Long: slo.Duration(6 * 24 * time.Hour), BudgetPercent: 20},
						}}
					}
				}
			}
		})
		b := newBrowser(t, c.url)
		b.signIn(adminSecret)
		_, page := b.do("GET", "/services/checkout-api/slos/availability", nil)
		page = html.UnescapeString(page)
		for _, w := range []string{"2h and 10m", "12h and 1h", "2d and 4h", "6d and 12h"} {
			if !strings.Contains(page, "<td>"+w+"</td>") {
				t.Errorf("the SLO page does not show the team's windows %s", w)
			}
		}
		if strings.Contains(page, "<td>3d and 6h</td>") {
			t.Errorf("the SLO page shows tsuna's default windows 3d and 6h, not the team's")
		}
	})
}
