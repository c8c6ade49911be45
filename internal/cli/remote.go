package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tsuna-sre/tsuna/internal/api"
	"github.com/tsuna-sre/tsuna/internal/app"
	"github.com/tsuna-sre/tsuna/internal/audit"
	"github.com/tsuna-sre/tsuna/internal/auth"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/client"
	"github.com/tsuna-sre/tsuna/internal/store"
)

// remote holds the flags of commands that call a tsuna server.
type remote struct {
	server, token string
}

func (r *remote) flags(c *cobra.Command) {
	c.Flags().StringVar(&r.server, "server", "", "tsuna server URL (env TSUNA_SERVER; default http://127.0.0.1:8080)")
	c.Flags().StringVar(&r.token, "token", "", "API token (env TSUNA_TOKEN)")
}

func (r *remote) client(env *Env) (*client.Client, error) {
	srv := firstNonEmpty(r.server, env.getenv("TSUNA_SERVER"), "http://127.0.0.1:8080")
	tok := firstNonEmpty(r.token, env.getenv("TSUNA_TOKEN"))
	if tok == "" {
		return nil, usageError{errors.New("no token: pass --token or set TSUNA_TOKEN (an admin creates one with tsuna token create)")}
	}
	if u, err := url.Parse(srv); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Errorf("--server %q is not an http(s) URL", srv)}
	}
	return client.New(srv, tok, audit.SourceCLI), nil
}

// start checks a command's --output (text or json) and returns its client.
func (r *remote) start(env *Env, output string) (*client.Client, error) {
	if err := checkOutput(output, "text", "json"); err != nil {
		return nil, err
	}
	return r.client(env)
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// queryOf is the query of the flags that are set: name → value, the
// empty ones left out.
func queryOf(flags map[string]string) url.Values {
	q := url.Values{}
	for k, v := range flags {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newApply(env *Env) *cobra.Command {
	var (
		rem           remote
		dryRun, prune bool
		output        string
		revision      int64
	)
	c := &cobra.Command{
		Use:   "apply PATH...",
		Short: "Apply catalog files to a tsuna server, in one transaction",
		Long: `Send catalog files to the server, which validates them exactly as tsuna lint
does and applies the whole catalog in one transaction, or nothing.

The catalog is the source of truth: objects missing from it are deleted,
unless --prune=false. Re-applying an unchanged catalog changes nothing.

Every apply is based on a catalog revision: apply first computes the changes
(a dry run), then applies them only if nobody changed the catalog in between;
otherwise the server answers 409 naming what changed, and nothing is applied.
A pipeline that reviews a dry run can pin its revision with --revision.`,
		Example: `  tsuna apply catalog/ --dry-run
  TSUNA_TOKEN=... tsuna apply catalog/ --server https://tsuna.internal`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := rem.start(env, output)
			if err != nil {
				return err
			}
			files, err := catalog.ReadFiles(args)
			if err != nil {
				return err
			}
			req := api.ApplyRequest{Prune: &prune, DryRun: dryRun}
			for _, f := range files {
				req.Files = append(req.Files, api.ApplyFile{Path: f.Path, Content: string(f.Data)})
			}
			if cmd.Flags().Changed("revision") {
				req.BaseRevision = &revision
			} else if !dryRun {
				// Base the apply on what a dry run sees now.
				plan := req
				plan.DryRun = true
				if p, err := cl.Apply(cmd.Context(), plan); err == nil {
					req.BaseRevision = &p.Revision
				}
			}
			resp, err := cl.Apply(cmd.Context(), req)
			var apiErr *client.Error
			if errors.As(err, &apiErr) && apiErr.Problem.Code == "invalid" && apiErr.Problem.Errors != nil {
				// The server's lint findings: print them as tsuna lint does.
				b, _ := json.Marshal(apiErr.Problem.Errors)
				var diags catalog.Diagnostics
				if json.Unmarshal(b, &diags) == nil && len(diags) > 0 {
					if output == "json" {
						diags.WriteJSON(env.Stdout)
					} else {
						diags.WriteText(env.Stderr)
					}
					return applyFailed(args, diags)
				}
				return err
			}
			if err != nil {
				writeProblem(env, output, err)
				return err
			}
			if output == "json" {
				return writeJSON(env.Stdout, resp)
			}
			resp.Warnings.WriteText(env.Stderr)
			verb := map[bool]string{true: "would ", false: ""}[resp.DryRun]
			for _, ref := range resp.Created {
				fmt.Fprintf(env.Stdout, "%screate %s/%s\n", verb, ref.Kind, ref.Name)
			}
			for _, ref := range resp.Updated {
				fmt.Fprintf(env.Stdout, "%supdate %s/%s\n", verb, ref.Kind, ref.Name)
			}
			for _, ref := range resp.Deleted {
				fmt.Fprintf(env.Stdout, "%sdelete %s/%s\n", verb, ref.Kind, ref.Name)
			}
			n := len(resp.Created) + len(resp.Updated) + len(resp.Deleted)
			switch {
			case n == 0:
				fmt.Fprintln(env.Stdout, "no changes")
			case resp.DryRun:
				fmt.Fprintf(env.Stdout, "dry run at revision %d: %d created, %d updated, %d deleted; nothing applied (apply --revision %d applies exactly this)\n",
					resp.Revision, len(resp.Created), len(resp.Updated), len(resp.Deleted), resp.Revision)
			default:
				fmt.Fprintf(env.Stdout, "applied: %d created, %d updated, %d deleted\n", len(resp.Created), len(resp.Updated), len(resp.Deleted))
			}
			return nil
		},
	}
	rem.flags(c)
	c.Flags().BoolVar(&dryRun, "dry-run", false, "show what would change without applying")
	c.Flags().Int64Var(&revision, "revision", 0, "apply only if the catalog is still at this revision (from a dry run); default: the revision a dry run sees just before")
	c.Flags().BoolVar(&prune, "prune", true, "delete stored objects missing from the catalog")
	addOutputFlag(c, &output)
	return c
}

func newToken(env *Env) *cobra.Command {
	c := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens (admin)"}
	var (
		rem                   remote
		name, role, team, out string
		breakGlassDB          string
	)
	create := &cobra.Command{
		Use:   "create --name NAME --role viewer|editor|admin [--team TEAM]",
		Short: "Create a token; its secret is printed once",
		Long: `Create a token. viewer reads everything; editor changes only the objects of
its --team; admin changes everything and manages tokens. The secret is printed
once on stdout and stored only as a hash.

Break glass: with --db, the token is written straight into the database (a
SQLite file or postgres:// URL), for someone with access to the server's
database when no admin token is left. It is audited as "break-glass" from the
host user.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if breakGlassDB != "" {
				return breakGlass(cmd.Context(), env, breakGlassDB, &auth.Token{Name: name, Role: role, Team: team}, out)
			}
			cl, err := rem.start(env, out)
			if err != nil {
				return err
			}
			resp, err := cl.CreateToken(cmd.Context(), api.CreateTokenRequest{Name: name, Role: role, Team: team})
			if err != nil {
				return err
			}
			if out == "json" {
				return writeJSON(env.Stdout, resp)
			}
			scope := ""
			if resp.Token.Team != "" {
				scope = " of team " + resp.Token.Team
			}
			fmt.Fprintf(env.Stderr, "created token %q (%s%s); its secret is shown this once:\n", resp.Token.Name, resp.Token.Role, scope)
			fmt.Fprintln(env.Stdout, resp.Secret)
			return nil
		},
	}
	rem.flags(create)
	create.Flags().StringVar(&name, "name", "", "token name, unique forever (required)")
	create.Flags().StringVar(&role, "role", "", "viewer, editor or admin (required)")
	create.Flags().StringVar(&team, "team", "", "team an editor may change")
	create.Flags().StringVar(&breakGlassDB, "db", "", "break glass: write the token straight into this database (SQLite file or postgres:// URL)")
	create.MarkFlagRequired("name")
	create.MarkFlagRequired("role")
	addOutputFlag(create, &out)

	var listRem remote
	var listOut string
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens, revoked ones included",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := listRem.start(env, listOut)
			if err != nil {
				return err
			}
			toks, err := cl.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([][]string, len(toks))
			for i, t := range toks {
				revoked := "-"
				if t.RevokedAt != nil {
					revoked = t.RevokedAt.Format(time.RFC3339)
				}
				rows[i] = []string{t.Name, t.Role, dash(t.Team), t.CreatedAt.Format(time.RFC3339), t.CreatedBy, revoked}
			}
			return render(env, listOut, toks, []string{"NAME", "ROLE", "TEAM", "CREATED", "CREATED BY", "REVOKED"}, rows)
		},
	}
	listRem.flags(list)
	addOutputFlag(list, &listOut)

	var revRem remote
	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a token; it authenticates no more",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := revRem.client(env)
			if err != nil {
				return err
			}
			if _, err := cl.RevokeToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "revoked token %q\n", args[0])
			return nil
		},
	}
	revRem.flags(revoke)
	c.AddCommand(create, list, revoke)
	return c
}

// render writes data as JSON for --output json, else rows as a table.
func render(env *Env, output string, data any, header []string, rows [][]string) error {
	if output == "json" {
		return writeJSON(env.Stdout, data)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newAudit(env *Env) *cobra.Command {
	c := &cobra.Command{Use: "audit", Short: "Read and verify the audit log"}
	var (
		rem                                 remote
		actor, object, since, until, output string
		limit                               int
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List audit records, newest first",
		Example: `  tsuna audit list --actor ci --since 24h
  tsuna audit list --object Service/checkout-api --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := rem.start(env, output)
			if err != nil {
				return err
			}
			q := url.Values{}
			set := func(k, v string) {
				if v != "" {
					q.Set(k, v)
				}
			}
			set("actor", actor)
			if object != "" {
				kind, name, ok := strings.Cut(object, "/")
				if !ok {
					kind, name = "", object
				}
				set("kind", kind)
				set("name", name)
			}
			set("since", since)
			set("until", until)
			q.Set("limit", fmt.Sprint(limit))
			recs, err := cl.Audit(cmd.Context(), q)
			if err != nil {
				return err
			}
			rows := make([][]string, len(recs))
			for i, r := range recs {
				rows[i] = []string{fmt.Sprint(r.Seq), r.Time.Format(time.RFC3339), r.Actor, r.Source, r.Action, r.Kind + "/" + r.Name, dash(r.RequestID)}
			}
			return render(env, output, recs, []string{"SEQ", "TIME", "ACTOR", "SOURCE", "ACTION", "OBJECT", "REQUEST"}, rows)
		},
	}
	rem.flags(list)
	list.Flags().StringVar(&actor, "actor", "", "only records by this token name")
	list.Flags().StringVar(&object, "object", "", "only records of KIND/NAME (or NAME)")
	list.Flags().StringVar(&since, "since", "", "only records at or after this time (RFC 3339, or a duration ago such as 24h)")
	list.Flags().StringVar(&until, "until", "", "only records before this time")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many records (1-1000)")
	addOutputFlag(list, &output)

	var dbPath, verifyOut, keyFile, checkpoint string
	var verifyRem remote
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's chain, MACs and a checkpoint; name the first broken record",
		Long: `Check that no audit record was changed, inserted, forged or deleted.

Each record carries the hash of the one before it (a chain), and an HMAC of its
hash with the server's audit key, which lives outside the database (serve
--audit-key-file). What each check detects:

  chain only (no key)    a record changed or deleted in the middle, unless
                         every later hash was recomputed as well
  with the audit key     also a forged record, and a rewritten record even
                         with every later hash recomputed: without the key no
                         MAC verifies
  with --checkpoint      also truncation: deleting the newest records, or all
                         of them, up to the checkpoint; and any rewrite before it

What none can detect: records deleted after the newest checkpoint you kept
(keep them often: the server logs one every hour, and tsuna audit checkpoint
prints one), and changes by someone who holds both the database and the key.

Reads the database directly (--db, with --audit-key-file), or asks a server
when --server is given (admin token). Exit status 1 names the first broken
record.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(verifyOut, "text", "json"); err != nil {
				return err
			}
			var cp *audit.Checkpoint
			if checkpoint != "" {
				var err error
				if cp, err = audit.ParseCheckpoint(checkpoint); err != nil {
					return usageError{fmt.Errorf("--checkpoint: %w", err)}
				}
			}
			var res api.AuditVerification
			if verifyRem.server != "" {
				cl, err := verifyRem.client(env)
				if err != nil {
					return err
				}
				r, err := cl.VerifyAudit(cmd.Context(), cp)
				if err != nil {
					return err
				}
				res = *r
			} else {
				if v := env.getenv("TSUNA_DB"); v != "" && !cmd.Flags().Changed("db") {
					dbPath = v
				}
				if v := env.getenv("TSUNA_AUDIT_KEY_FILE"); v != "" && !cmd.Flags().Changed("audit-key-file") {
					keyFile = v
				}
				if err := mustExist(dbPath); err != nil {
					return err
				}
				db, err := store.Open(cmd.Context(), dbPath, nil)
				if err != nil {
					return err
				}
				defer db.Close()
				if keyFile == "" { // the server's default, when it is there
					if def := app.DefaultAuditKeyFile(dbPath); fileExists(def) {
						keyFile = def
					}
				}
				if keyFile != "" {
					key, err := audit.LoadKey(keyFile)
					if err != nil {
						return err
					}
					db.SetAuditKey(key)
				}
				if res, err = db.VerifyAudit(cmd.Context(), cp); err != nil {
					return err
				}
			}
			if verifyOut == "json" {
				if err := writeJSON(env.Stdout, res); err != nil {
					return err
				}
			} else if res.OK {
				how := "hash chain"
				if res.Keyed {
					how += " and MACs"
				}
				if cp != nil {
					how += ", checkpoint " + fmt.Sprint(cp.Seq) + " found"
				}
				fmt.Fprintf(env.Stdout, "audit log intact: %d records verified (%s)\n", res.Verified, how)
				if res.Keyed && res.Unkeyed > 0 {
					fmt.Fprintf(env.Stdout, "note: %d records were written before the audit key existed and carry no MAC\n", res.Unkeyed)
				}
				if !res.Keyed {
					fmt.Fprintln(env.Stdout, "note: no audit key given (--audit-key-file): forged or re-hashed records cannot be detected")
				}
				if res.Head != nil {
					fmt.Fprintf(env.Stdout, "head: %s\n", res.Head)
				}
			} else {
				fmt.Fprintf(env.Stdout, "audit log BROKEN at record %d: %s (%d records before it verified)\n", res.Break.Seq, res.Break.Reason, res.Verified)
			}
			if !res.OK {
				return exitError{ExitError}
			}
			return nil
		},
	}
	verify.Flags().StringVar(&dbPath, "db", "./tsuna.db", "SQLite file or postgres:// URL to verify (env TSUNA_DB)")
	verify.Flags().StringVar(&verifyRem.server, "server", "", "ask this tsuna server instead of reading the database")
	verify.Flags().StringVar(&verifyRem.token, "token", "", "API token for --server (env TSUNA_TOKEN)")
	verify.Flags().StringVar(&keyFile, "audit-key-file", "", "the server's audit key file, to check each record's MAC (env TSUNA_AUDIT_KEY_FILE)")
	verify.Flags().StringVar(&checkpoint, "checkpoint", "", "SEQ:HASH from tsuna audit checkpoint (or the server's log): detects truncation and rewrites before it")
	addOutputFlag(verify, &verifyOut)
	var cpRem remote
	var cpOut string
	cpCmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "Print the audit log's head (SEQ:HASH) to keep outside tsuna",
		Long: `Print the newest audit record's sequence and hash. Keep it somewhere tsuna's
database administrators cannot write (a ticket, a commit, another system):
tsuna audit verify --checkpoint SEQ:HASH then detects any deletion or rewrite
of the log up to it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cpRem.start(env, cpOut)
			if err != nil {
				return err
			}
			head, err := cl.AuditHead(cmd.Context())
			if err != nil {
				return err
			}
			if cpOut == "json" {
				return writeJSON(env.Stdout, api.AuditHead{Head: head})
			}
			if head == nil {
				fmt.Fprintln(env.Stderr, "the audit log is empty: no checkpoint yet")
				return nil
			}
			fmt.Fprintln(env.Stdout, head)
			return nil
		},
	}
	cpRem.flags(cpCmd)
	addOutputFlag(cpCmd, &cpOut)
	c.AddCommand(list, verify, cpCmd)
	return c
}

// breakGlass creates a token directly in the database, audited, for when
// no admin token is left.
func breakGlass(ctx context.Context, env *Env, dsn string, tok *auth.Token, out string) error {
	if err := mustExist(dsn); err != nil {
		return err
	}
	db, err := store.Open(ctx, dsn, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	secret := auth.NewSecret()
	who := "break-glass"
	if u, err := user.Current(); err == nil {
		who = "break-glass:" + u.Username
	}
	if err := db.CreateToken(ctx, tok, auth.HashSecret(secret), audit.Actor{Name: who, Source: audit.SourceCLI}); err != nil {
		return err
	}
	if out == "json" {
		return writeJSON(env.Stdout, api.CreateTokenResponse{Token: tok, Secret: secret})
	}
	fmt.Fprintf(env.Stderr, "created token %q (%s) in the database, audited as %q; its secret is shown this once:\n", tok.Name, tok.Role, who)
	fmt.Fprintln(env.Stdout, secret)
	return nil
}

// mustExist refuses a SQLite path with no database behind it, rather than
// create an empty one; a postgres:// URL is checked by connecting.
func mustExist(dsn string) error {
	if store.IsPostgresDSN(dsn) {
		return nil
	}
	if _, err := os.Stat(strings.TrimPrefix(dsn, "sqlite://")); err != nil {
		return fmt.Errorf("no database at %s: give the path of tsuna serve's --db (or set TSUNA_DB)", dsn)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
