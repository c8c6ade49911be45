package web_test

import (
	"html"
	"regexp"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/pgtest"
)

// TestSLOChartEndsNow: the budget chart's last point is now, so the
// "budget left now" it states is the budget left the page shows above it.
func TestSLOChartEndsNow(t *testing.T) {
	pgtest.ForEachEngine(t, func(t *testing.T, dsn string) {
		c := startConsole(t, dsn)
		b := newBrowser(t, c.url)
		b.signIn(adminSecret)
		_, page := b.do("GET", "/services/checkout-api/slos/availability", nil)
		page = html.UnescapeString(page)
		card := regexp.MustCompile(`Budget left <span class="big">([^<]+)</span>`).FindStringSubmatch(page)
		chart := regexp.MustCompile(`Budget left now ([^;]+);`).FindStringSubmatch(page)
		if card == nil || chart == nil {
			t.Fatalf("no budget figures on the SLO page (card %v, chart %v)", card, chart)
		}
		if card[1] != chart[1] {
			t.Errorf("the page shows %s budget left, its chart %s now", card[1], chart[1])
		}
	})
}
