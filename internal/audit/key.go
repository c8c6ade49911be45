package audit

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of an audit key in bytes.
const KeySize = 32

// LoadOrCreateKey reads the audit key from path, or creates the file with a
// new random key, readable by its owner only (0600), when it does not
// exist. It returns whether it created one. A key file readable by others,
// or of the wrong length, is an error.
func LoadOrCreateKey(path string) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, false, fmt.Errorf("audit key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, fmt.Errorf("audit key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) { // another replica made it first
			return LoadOrCreateKey(path)
		}
		if err != nil {
			return nil, false, fmt.Errorf("audit key: %w", err)
		}
		_, werr := fmt.Fprintf(f, "%x\n", key)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, false, fmt.Errorf("audit key: write %s: %w", path, werr)
		}
		return key, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("audit key: %w", err)
	}
	return parseKey(path, string(b))
}

// LoadKey reads an existing audit key; it never creates one.
func LoadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	key, _, err := parseKey(path, string(b))
	return key, err
}

func parseKey(path, s string) ([]byte, bool, error) {
	// Owner or group (a Kubernetes Secret mounted 0440 for the pod's
	// group) may read it; anyone else may not.
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o007 != 0 {
		return nil, false, fmt.Errorf("audit key %s is readable by anyone (mode %o); chmod 600 it (or 440 for a group)", path, fi.Mode().Perm())
	}
	var key []byte
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%x", &key); err != nil || len(key) != KeySize {
		return nil, false, fmt.Errorf("audit key %s: want %d bytes in hex, as tsuna writes it", path, KeySize)
	}
	return key, false, nil
}
