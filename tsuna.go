// Package tsuna holds the domain types shared by every part of tsuna: the
// error codes that each layer maps to its own surface (HTTP status, exit
// code), and the build version.
package tsuna

import (
	"errors"
	"fmt"
	"runtime/debug"
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
// toolchain, or "devel".
func BuildVersion() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
