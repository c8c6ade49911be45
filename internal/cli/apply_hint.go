package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/tsuna-sre/tsuna/internal/catalog"
)

// applyFailed is what tsuna apply says after printing the server's lint
// findings (with their source lines, so it does not send the user to tsuna
// lint for them). When only single files were given and a finding names a
// team or service the files do not define, it says why: apply takes the
// whole catalog.
func applyFailed(paths []string, diags catalog.Diagnostics) error {
	msg := fmt.Sprintf("the catalog has %d error(s), shown above; nothing was applied", diags.Errors())
	if onlyFiles(paths) && namesUnknownObject(diags) {
		msg += "\n" + wholeCatalogHint(paths)
	}
	return errors.New(msg)
}

// wholeCatalogHint explains that apply validates and applies the files it
// is given as the entire catalog.
func wholeCatalogHint(paths []string) string {
	return fmt.Sprintf(`tsuna apply takes the whole catalog, not single files: the files given (%s) are
validated on their own, as the entire catalog, so teams and services defined in
other files are unknown (and, applied with --prune, would be deleted). Apply the
catalog's directory instead, such as: tsuna apply catalog/ --dry-run`, strings.Join(paths, " "))
}

// onlyFiles reports whether every path is a file, none a directory.
func onlyFiles(paths []string) bool {
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			return false
		}
	}
	return len(paths) > 0
}

// namesUnknownObject reports whether a finding is about a reference to a
// team or service that the files do not define.
func namesUnknownObject(diags catalog.Diagnostics) bool {
	for _, d := range diags {
		if d.Severity == catalog.SeverityError && (strings.Contains(d.Message, "unknown team") || strings.Contains(d.Message, "unknown service")) {
			return true
		}
	}
	return false
}
