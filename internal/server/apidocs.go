package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
)

// apiDocs serves the OpenAPI document rendered for a person: one HTML page,
// its style inline, no script and no asset from anywhere else. Every text
// comes from openapi.json and is escaped by html/template.
func (s *Server) apiDocs(w http.ResponseWriter, r *http.Request) {
	page, err := renderAPIDocs()
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Write(page)
}

var (
	apiDocsOnce sync.Once
	apiDocsPage []byte
	apiDocsErr  error
)

// renderAPIDocs renders the embedded document once.
func renderAPIDocs() ([]byte, error) {
	apiDocsOnce.Do(func() { apiDocsPage, apiDocsErr = renderOpenAPI(openAPIDoc) })
	return apiDocsPage, apiDocsErr
}

type docParam struct {
	Name, In, Description, Type string
	Required                    bool
}

type docResponse struct {
	Status, Description, Schema string
}

type docOperation struct {
	Method, Path, Summary, Description, Body, Auth string
	Params                                         []docParam
	Responses                                      []docResponse
	Anchor                                         string
}

type docSchema struct {
	Name, Body string
}

// renderOpenAPI turns an OpenAPI 3.1 document into the reference page.
func renderOpenAPI(doc []byte) ([]byte, error) {
	var d struct {
		Info struct {
			Title, Version, Description string
		}
		Paths      map[string]map[string]json.RawMessage
		Components struct {
			Schemas   map[string]json.RawMessage
			Responses map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	var ops []docOperation
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	methodOrder := []string{"get", "post", "put", "patch", "delete"}
	for _, p := range paths {
		methods := make([]string, 0, len(d.Paths[p]))
		for m := range d.Paths[p] {
			if slices.Contains(methodOrder, m) {
				methods = append(methods, m)
			}
		}
		sort.Slice(methods, func(i, j int) bool {
			return slices.Index(methodOrder, methods[i]) < slices.Index(methodOrder, methods[j])
		})
		for _, m := range methods {
			var op struct {
				Summary, Description string
				Security             *[]map[string][]string
				Parameters           []struct {
					Name, In, Description string
					Required              bool
					Schema                json.RawMessage
				}
				RequestBody *struct {
					Content map[string]struct{ Schema json.RawMessage }
				}
				Responses map[string]json.RawMessage
			}
			if err := json.Unmarshal(d.Paths[p][m], &op); err != nil {
				return nil, fmt.Errorf("openapi.json: %s %s: %w", m, p, err)
			}
			o := docOperation{Method: strings.ToUpper(m), Path: p, Summary: op.Summary, Description: op.Description,
				Anchor: strings.ToLower(m) + strings.NewReplacer("/", "-", "{", "", "}", "").Replace(p), Auth: "bearer token"}
			if op.Security != nil {
				var names []string
				for _, s := range *op.Security {
					for k := range s {
						names = append(names, k)
					}
				}
				o.Auth = strings.Join(names, ", ")
				if o.Auth == "" {
					o.Auth = "none"
				} else if o.Auth == "bearer" {
					o.Auth = "bearer token"
				}
			}
			for _, prm := range op.Parameters {
				o.Params = append(o.Params, docParam{Name: prm.Name, In: prm.In, Description: prm.Description, Required: prm.Required, Type: compact(prm.Schema)})
			}
			if op.RequestBody != nil {
				for ct, c := range op.RequestBody.Content {
					o.Body = ct + ": " + compact(c.Schema)
				}
			}
			codes := make([]string, 0, len(op.Responses))
			for c := range op.Responses {
				codes = append(codes, c)
			}
			sort.Strings(codes)
			for _, c := range codes {
				var resp struct {
					Ref         string `json:"$ref"`
					Description string
					Content     map[string]struct{ Schema json.RawMessage }
				}
				json.Unmarshal(op.Responses[c], &resp)
				if resp.Ref != "" {
					json.Unmarshal(d.Components.Responses[strings.TrimPrefix(resp.Ref, "#/components/responses/")], &resp)
				}
				var schemas []string
				for ct, body := range resp.Content {
					schemas = append(schemas, ct+": "+compact(body.Schema))
				}
				sort.Strings(schemas)
				o.Responses = append(o.Responses, docResponse{Status: c, Description: resp.Description, Schema: strings.Join(schemas, "\n")})
			}
			ops = append(ops, o)
		}
	}
	names := make([]string, 0, len(d.Components.Schemas))
	for n := range d.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	var schemas []docSchema
	for _, n := range names {
		var b bytes.Buffer
		json.Indent(&b, d.Components.Schemas[n], "", "  ")
		schemas = append(schemas, docSchema{Name: n, Body: b.String()})
	}
	var out bytes.Buffer
	err := apiDocsTemplate.Execute(&out, map[string]any{"Info": d.Info, "Ops": ops, "Schemas": schemas})
	return out.Bytes(), err
}

// compact writes a schema on one line, its references by name.
func compact(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return strings.ReplaceAll(b.String(), `{"$ref":"#/components/schemas/`, `{"$ref":"`)
}

var apiDocsTemplate = template.Must(template.New("api").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Info.Title}} {{.Info.Version}}</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; color: #1b1b1b; background: #fff; }
@media (prefers-color-scheme: dark) { body { color: #e8e8e8; background: #161616; } code, pre { background: #242424 !important; } }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem; border-top: 1px solid #8884; padding-top: 1rem; }
h3 { font-size: 1.05rem; margin: 1.8rem 0 .3rem; }
code, pre { font: 13px/1.4 ui-monospace, monospace; background: #f3f3f3; border-radius: 4px; }
code { padding: 0 .25rem; } pre { padding: .5rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
.method { font-weight: 700; } table { border-collapse: collapse; width: 100%; } td, th { text-align: left; vertical-align: top; padding: .2rem .5rem .2rem 0; }
nav li { margin: .1rem 0; } .auth { color: #666; font-size: .9em; }
</style>
</head>
<body>
<h1>{{.Info.Title}} <small>{{.Info.Version}}</small></h1>
<p>{{.Info.Description}}</p>
<p>The machine-readable document: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
<nav><h2>Operations</h2><ul>
{{range .Ops}}<li><a href="#{{.Anchor}}"><code><span class="method">{{.Method}}</span> {{.Path}}</code></a> {{.Summary}}</li>
{{end}}</ul></nav>
{{range .Ops}}
<h3 id="{{.Anchor}}"><code><span class="method">{{.Method}}</span> {{.Path}}</code></h3>
<p>{{.Summary}}</p>{{if .Description}}<p>{{.Description}}</p>{{end}}
<p class="auth">Authentication: {{.Auth}}</p>
{{if .Params}}<table><tr><th>parameter</th><th>in</th><th>schema</th><th>description</th></tr>
{{range .Params}}<tr><td><code>{{.Name}}</code>{{if .Required}} (required){{end}}</td><td>{{.In}}</td><td><code>{{.Type}}</code></td><td>{{.Description}}</td></tr>
{{end}}</table>{{end}}
{{if .Body}}<p>Request body:</p><pre>{{.Body}}</pre>{{end}}
<table><tr><th>status</th><th>answer</th></tr>
{{range .Responses}}<tr><td><code>{{.Status}}</code></td><td>{{.Description}}{{if .Schema}}<pre>{{.Schema}}</pre>{{end}}</td></tr>
{{end}}</table>
{{end}}
<h2>Schemas</h2>
{{range .Schemas}}<h3 id="schema-{{.Name}}">{{.Name}}</h3><pre>{{.Body}}</pre>
{{end}}
</body>
</html>
`))
