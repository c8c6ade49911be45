// Package tsuna holds the domain types shared by every part of tsuna: the
// error codes that each layer maps to its own surface (HTTP status, exit
// code), and the build version.
package tsuna

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error codes. Each maps to one HTTP status in the server package.
const (
	EINVALID      = "invalid"      // bad input: validation failed
	EUNAUTHORIZED = "unauthorized" // no or unknown credentials
	EFORBIDDEN    = "forbidden"    // credentials lack the role or team scope
	ENOTFOUND     = "not_found"    // the object does not exist
	ECONFLICT     = "conflict"     // the object already exists or changed
	ETOOLARGE     = "too_large"    // the request body is over the limit
	EUNAVAILABLE  = "unavailable"  // a dependency (database) is unreachable
	EINTERNAL     = "internal"     // a bug or an unexpected failure
)

// Error is a domain error: a code the caller can act on and a message a
// person can read. Messages never contain secrets.
type Error struct {
	Code    string
	Message string
	// Details carries structured context, such as lint diagnostics.
	Details any
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, and a
// generic message for any other error so internals never reach a client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Version is the build version, set with -ldflags "-X github.com/tsuna-sre/tsuna.Version=v1.2.3".
var Version = ""

// BuildVersion returns Version, or the module version recorded by the Go
// toolchain, or "devel"; when the build recorded its VCS revision and the
// version does not name it already, "+<12 hex digits>" follows, and
// ".dirty" when the work tree had uncommitted changes. `go build` records
// the revision in a git clone (unless -buildvcs=false); `go run` does not.
func BuildVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(Version, bi)
}

// BuildRevision returns the VCS revision the binary was built from, with
// "-dirty" when the work tree had uncommitted changes, or "" when the
// build recorded none.
func BuildRevision() string {
	bi, _ := debug.ReadBuildInfo()
	rev, dirty := revisionOf(bi)
	if rev != "" && dirty {
		rev += "-dirty"
	}
	return rev
}

func versionOf(set string, bi *debug.BuildInfo) string {
	v := set
	if v == "" && bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	if v == "" {
		v = "devel"
	}
	rev, dirty := revisionOf(bi)
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" || strings.Contains(v, rev) {
		return v
	}
	v += "+" + rev
	if dirty {
		v += ".dirty"
	}
	return v
}

// revisionOf returns the VCS revision in bi's build settings and whether
// the work tree was modified.
func revisionOf(bi *debug.BuildInfo) (rev string, dirty bool) {
	if bi == nil {
		return "", false
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	return rev, dirty
}

// Truncate cuts s to at most n bytes on a rune boundary: what a limited
// field, log line or error message keeps of a client's text.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// RefNumber reads the number of a reference written with prefix, in any
// case, or bare: RefNumber("inc-42", "INC-") and RefNumber("42", "INC-")
// give 42. It reports false for anything else and for numbers below 1.
func RefNumber(s, prefix string) (int64, bool) {
	v := strings.TrimSpace(s)
	if len(v) > len(prefix) && strings.EqualFold(v[:len(prefix)], prefix) {
		v = v[len(prefix):]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n > 0
}
