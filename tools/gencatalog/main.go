// Command gencatalog writes a large generated catalog, or Sloth specs, for
// benchmarks:
//
//	go run ./tools/gencatalog -teams 500 -services 10000 -o .bench/catalog
//	go run ./tools/gencatalog -sloth 10000 -o .bench/sloth
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tsuna-sre/tsuna/internal/catalog/catalogtest"
)

func main() {
	teams := flag.Int("teams", 500, "number of teams")
	services := flag.Int("services", 10000, "number of services")
	out := flag.String("o", ".bench/catalog", "output directory (replaced)")
	sloth := flag.Int("sloth", 0, "write this many SLOs as Sloth specs (10 per service) instead of a catalog")
	flag.Parse()
	if err := os.RemoveAll(*out); err != nil {
		fatal(err)
	}
	size := 0
	files := catalogtest.Generate(*teams, *services)
	if *sloth > 0 {
		files = catalogtest.GenerateSloth(*sloth)
	}
	for _, f := range files {
		p := filepath.Join(*out, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			fatal(err)
		}
		size += len(f.Data)
	}
	if *sloth > 0 {
		fmt.Printf("wrote %d SLOs in %d Sloth specs (%.1f MiB) to %s\n", *sloth, len(files), float64(size)/(1<<20), *out)
		return
	}
	fmt.Printf("wrote %d teams, %d services (%.1f MiB) to %s\n", *teams, *services, float64(size)/(1<<20), *out)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gencatalog:", err)
	os.Exit(1)
}
