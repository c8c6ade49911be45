package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

func newDocs(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "docs DIR",
		Short: "Write this command reference as Markdown, one page per command, into DIR",
		Long: `Write the command reference as Markdown into DIR: one page per command,
generated from the commands themselves (their usage, help, examples and
flags), and an index, README.md. docs/cli/ in the repository is this output;
a test fails when it is out of step with the commands.`,
		Example: `  tsuna docs docs/cli`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pages := referencePages(cmd.Root())
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			// Pages of commands that no longer exist go.
			old, _ := filepath.Glob(filepath.Join(args[0], "tsuna*.md"))
			for _, p := range old {
				if _, ok := pages[filepath.Base(p)]; !ok {
					if err := os.Remove(p); err != nil {
						return err
					}
				}
			}
			for name, b := range pages {
				if err := writeFileAtomic(filepath.Join(args[0], name), b); err != nil {
					return err
				}
			}
			fmt.Fprintf(env.Stderr, "wrote %d pages to %s\n", len(pages), args[0])
			return nil
		},
	}
}

// referencePages returns the Markdown reference of root's commands, by
// file name: a page per command and README.md, an index.
func referencePages(root *cobra.Command) map[string][]byte {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	pages := map[string][]byte{}
	var index bytes.Buffer
	index.WriteString("# tsuna command reference\n\nGenerated from the commands themselves by `tsuna docs docs/cli`; a test keeps it in step.\n\n| command | what it does |\n|---|---|\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() && c != root {
			return
		}
		c.InitDefaultHelpFlag() // as cobra does for the command it runs
		pages[pageName(c)] = commandPage(c)
		fmt.Fprintf(&index, "| [%s](%s) | %s |\n", c.CommandPath(), pageName(c), escapeCell(c.Short))
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	pages["README.md"] = index.Bytes()
	return pages
}

func pageName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "_") + ".md"
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// commandPage is one command's Markdown page.
func commandPage(c *cobra.Command) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n%s\n\n", c.CommandPath(), c.Short)
	if c.Long != "" {
		fmt.Fprintf(&b, "```text\n%s\n```\n\n", strings.TrimSpace(c.Long))
	}
	if c.Runnable() {
		fmt.Fprintf(&b, "## Usage\n\n```text\n%s\n```\n\n", c.UseLine())
	}
	if c.Example != "" {
		fmt.Fprintf(&b, "## Examples\n\n```sh\n%s\n```\n\n", strings.TrimRight(c.Example, "\n"))
	}
	if f := c.NonInheritedFlags(); f.HasAvailableFlags() {
		fmt.Fprintf(&b, "## Flags\n\n```text\n%s```\n\n", f.FlagUsages())
	}
	if f := c.InheritedFlags(); f.HasAvailableFlags() {
		fmt.Fprintf(&b, "## Flags of the parent commands\n\n```text\n%s```\n\n", f.FlagUsages())
	}
	var subs []*cobra.Command
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() {
			subs = append(subs, s)
		}
	}
	if len(subs) > 0 {
		b.WriteString("## Commands\n\n")
		for _, s := range subs {
			fmt.Fprintf(&b, "- [%s](%s): %s\n", s.CommandPath(), pageName(s), s.Short)
		}
		b.WriteString("\n")
	}
	if p := c.Parent(); p != nil {
		fmt.Fprintf(&b, "See also: [%s](%s), the [command index](README.md).\n", p.CommandPath(), pageName(p))
	} else {
		b.WriteString("See also: the [command index](README.md).\n")
	}
	return b.Bytes()
}
