package catalog_test

import (
	"strings"
	"testing"

	"github.com/tsuna-sre/tsuna/internal/catalog"
)

// TestKindReadersAreBounded: the readers that take checklists and
// postmortem templates from checked files stay within the catalog's
// limits, linear in the input, even for a file of thousands of tiny
// documents that names their kinds in a comment.
func TestKindReadersAreBounded(t *testing.T) {
	data := []byte("# Checklist PostmortemTemplate\n" + strings.Repeat("---\na: 1\n", 9000))
	files := []catalog.File{{Path: "big.yaml", Data: data}}
	for name, read := range map[string]func(){
		"ChecklistsOf":          func() { catalog.ChecklistsOf(files) },
		"PostmortemTemplatesOf": func() { catalog.PostmortemTemplatesOf(files) },
	} {
		if n := allocated(read); n > 200<<20 {
			t.Errorf("%s allocated %d MiB for a %d KiB file; want it linear (under 200 MiB; whole-file parsing took 360)", name, n>>20, len(data)>>10)
		}
	}
}
