package cli

import (
	"errors"

	"github.com/tsuna-sre/tsuna/internal/client"
)

// writeProblem writes the server's problem details to stdout when the
// command's output is JSON, so a script reading stdout sees why the command
// failed (a 403, a 404) rather than nothing. Errors that are not the
// server's answer print nothing on stdout.
func writeProblem(env *Env, output string, err error) {
	var apiErr *client.Error
	if output != "json" || !errors.As(err, &apiErr) {
		return
	}
	p := apiErr.Problem
	if p.Status == 0 {
		p.Status = apiErr.Status
	}
	writeJSON(env.Stdout, p)
}
