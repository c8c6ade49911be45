package catalog

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// IsCatalogFile reports whether path names a catalog file by its extension.
func IsCatalogFile(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yaml" || ext == ".yml"
}

// ReadFiles reads the catalog files at paths: each path is a file, read
// whatever its name, or a directory, walked for *.yaml and *.yml files
// (hidden directories such as .git are skipped). Files come back sorted by
// path, each once.
func ReadFiles(paths []string) ([]File, error) {
	files, err := ListFiles(paths)
	if err != nil {
		return nil, err
	}
	for i := range files {
		if files[i].Data, err = os.ReadFile(files[i].Path); err != nil {
			return nil, fmt.Errorf("read catalog: %w", err)
		}
	}
	return files, nil
}

// ListFiles finds the catalog files at paths as ReadFiles does, without
// reading them: Parse reads each when it parses it and lets it go after,
// so a large catalog is never in memory whole.
func ListFiles(paths []string) ([]File, error) {
	var names []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read catalog: %w", err)
		}
		if !info.IsDir() {
			names = append(names, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if !d.IsDir() && IsCatalogFile(path) {
				names = append(names, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read catalog: %w", err)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	files := make([]File, 0, len(names))
	for _, n := range names {
		files = append(files, File{Path: filepath.ToSlash(n)})
	}
	return files, nil
}
