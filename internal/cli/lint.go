package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tsuna-sre/tsuna/internal/catalog"
)

func newLint(env *Env) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "lint PATH...",
		Short: "Check catalog files and report every problem with its file, line and column",
		Long: `Check catalog files and directories (walked for *.yaml and *.yml).

Exit status: 0 when clean or with warnings only, 1 when there are errors,
2 when the command line is wrong.`,
		Example: `  tsuna lint catalog/
  tsuna lint --output json catalog/
  tsuna lint --format github catalog/   # annotations on a pull request`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json", "github"); err != nil {
				return err
			}
			files, err := catalog.ListFiles(args)
			if err != nil {
				return err
			}
			c, diags := catalog.Parse(files)
			switch output {
			case "json":
				err = diags.WriteJSON(env.Stdout)
			case "github":
				err = diags.WriteGitHub(env.Stdout)
			default:
				err = diags.WriteText(env.Stdout)
				if err == nil {
					warnings := len(diags) - diags.Errors()
					if c != nil {
						fmt.Fprintf(env.Stdout, "ok: %d teams, %d services, %d SLOs in %d files (%d warnings)\n", len(c.Teams), len(c.Services), len(c.SLOs), len(files), warnings)
					} else {
						fmt.Fprintf(env.Stdout, "%d errors, %d warnings in %d files\n", diags.Errors(), warnings, len(files))
					}
				}
			}
			if err != nil {
				return err
			}
			if c == nil {
				return exitError{ExitError}
			}
			return nil
		},
	}
	addOutputFlag(c, &output)
	c.Flags().StringVar(&output, "format", "text", "alias of --output: text, json or github (GitHub Actions annotations)")
	c.Flags().Lookup("output").Usage = "output format: text, json or github"
	return c
}
