// Command gencatalog writes a large generated catalog for benchmarks:
//
//	go run ./tools/gencatalog -teams 500 -services 10000 -o .bench/catalog
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
	flag.Parse()
	if err := os.RemoveAll(*out); err != nil {
		fatal(err)
	}
	size := 0
	for _, f := range catalogtest.Generate(*teams, *services) {
		p := filepath.Join(*out, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			fatal(err)
		}
		size += len(f.Data)
	}
	fmt.Printf("wrote %d teams, %d services (%.1f MiB) to %s\n", *teams, *services, float64(size)/(1<<20), *out)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gencatalog:", err)
	os.Exit(1)
}
