package slackapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/tsuna-sre/tsuna"
	"github.com/tsuna-sre/tsuna/internal/alerting"
	"github.com/tsuna-sre/tsuna/internal/catalog"
	"github.com/tsuna-sre/tsuna/internal/incident"
)

// CallbackDeclare is the callback_id of the declaration modal.
const CallbackDeclare = "incident.declare"

// Block IDs of the declaration modal; each input's action_id is its
// block's.
const (
	blockTitle    = "title"
	blockSeverity = "severity"
	blockService  = "service"
	blockSummary  = "summary"
	blockTriage   = "triage"
)

// maxServiceOptions is the most options a static select holds; with more
// services the modal asks for the service's name.
const maxServiceOptions = 100

// declareMeta is the modal's private_metadata: where it was opened and
// from which alert.
type declareMeta struct {
	Channel string `json:"c,omitempty"`
	Alert   string `json:"a,omitempty"`
}

// openDeclare opens the declaration modal with trigger. Failures are
// logged: the user sees no modal and runs the command again.
func (a *App) openDeclare(ctx context.Context, trigger string, meta declareMeta, title string) {
	view, err := a.declareView(ctx, meta, title)
	if err != nil {
		a.log.Warn("declaration modal", "err", err)
		return
	}
	if _, err := a.client.OpenViewContext(ctx, trigger, view); err != nil {
		// exchanged_trigger_id: Slack retried the command and the modal
		// is already open.
		a.log.Info("open the declaration modal", "err", err)
	}
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// cut shortens s to n characters.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// declareView is the declaration modal: title, severity with each level's
// description, affected service, summary, and "not sure: triage".
func (a *App) declareView(ctx context.Context, meta declareMeta, title string) (slack.ModalViewRequest, error) {
	levels, err := a.cfg.Incidents.LevelsContext(ctx)
	if err != nil {
		return slack.ModalViewRequest{}, err
	}
	var service string
	if meta.Alert != "" {
		if al, err := a.cfg.Incidents.Store().AlertByFingerprint(ctx, meta.Alert); err == nil {
			service = al.Service
			if title == "" {
				title = al.Labels["alertname"]
				if s := al.Annotations["summary"]; s != "" {
					title += ": " + s
				}
			}
		}
	}
	titleInput := slack.NewPlainTextInputBlockElement(plain("What is happening?"), blockTitle)
	titleInput.MaxLength = incident.MaxTitle
	if title != "" {
		titleInput.InitialValue = cut(title, incident.MaxTitle)
	}
	var options []*slack.OptionBlockObject
	var initial *slack.OptionBlockObject
	for i, l := range levels {
		o := slack.NewOptionBlockObject(l.Name, plain(cut(l.Name, 75)), plain(cut(l.Description, 75)))
		options = append(options, o)
		if i == min(1, len(levels)-1) {
			initial = o
		}
	}
	sev := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Severity"), blockSeverity, options...)
	sev.InitialOption = initial
	var guide []string
	for _, l := range levels {
		guide = append(guide, "*"+escape(l.Name)+"*: "+escape(l.Description))
	}
	guideText := cut(strings.Join(guide, "\n")+"\nWhen unsure, pick the higher severity: lowering it later is cheap.", 3000)

	svcs, err := a.cfg.Store.Services(ctx, catalog.ServiceFilter{Limit: maxServiceOptions + 1})
	if err != nil {
		return slack.ModalViewRequest{}, err
	}
	var svcElem slack.BlockElement
	if len(svcs) <= maxServiceOptions && len(svcs) > 0 {
		var opts []*slack.OptionBlockObject
		var init *slack.OptionBlockObject
		for _, s := range svcs {
			o := slack.NewOptionBlockObject(s.Name, plain(cut(s.Name, 75)), nil)
			if s.Team != "" {
				o.Description = plain(cut("team "+s.Team, 75))
			}
			opts = append(opts, o)
			if s.Name == service {
				init = o
			}
		}
		sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Affected service"), blockService, opts...)
		sel.InitialOption = init
		svcElem = sel
	} else {
		in := slack.NewPlainTextInputBlockElement(plain("Service name, as in the catalog"), blockService)
		in.InitialValue = service
		svcElem = in
	}
	summary := slack.NewPlainTextInputBlockElement(plain("What do users see? What is known?"), blockSummary)
	summary.Multiline = true
	summary.MaxLength = incident.MaxSummary
	triage := slack.NewCheckboxGroupsBlockElement(blockTriage,
		slack.NewOptionBlockObject("triage", plain("Not sure yet: declare it in triage"), plain("Someone confirms or declines it")))

	svcBlock := slack.NewInputBlock(blockService, plain("Affected service"), nil, svcElem)
	svcBlock.Optional = true
	sumBlock := slack.NewInputBlock(blockSummary, plain("Summary"), nil, summary)
	sumBlock.Optional = true
	triBlock := slack.NewInputBlock(blockTriage, plain("Triage"), nil, triage)
	triBlock.Optional = true
	md, _ := json.Marshal(meta)
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: CallbackDeclare, PrivateMetadata: string(md),
		Title: plain("Declare an incident"), Submit: plain("Declare"), Close: plain("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(blockTitle, plain("Title"), nil, titleInput),
			slack.NewInputBlock(blockSeverity, plain("Severity"), nil, sev),
			slack.NewContextBlock("levels", slack.NewTextBlockObject(slack.MarkdownType, guideText, false, false)),
			svcBlock, sumBlock, triBlock,
		}},
	}, nil
}

// escape keeps Slack from reading &, < and > in text as markup.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// interactionPayload is the part of an interaction payload the app reads.
type interactionPayload struct {
	Type      string `json:"type"`
	TriggerID string `json:"trigger_id"`
	User      struct {
		ID string `json:"id"`
	} `json:"user"`
	Channel struct {
		ID string `json:"id"`
	} `json:"channel"`
	Actions []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
	} `json:"actions"`
	View struct {
		ID              string `json:"id"`
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
		State           struct {
			Values map[string]map[string]inputValue `json:"values"`
		} `json:"state"`
	} `json:"view"`
}

// inputValue is an input's value in a view's state.
type inputValue struct {
	Type           string `json:"type"`
	Value          string `json:"value"`
	SelectedOption *struct {
		Value string `json:"value"`
	} `json:"selected_option"`
	SelectedOptions []struct {
		Value string `json:"value"`
	} `json:"selected_options"`
}

func (v inputValue) text() string {
	if v.SelectedOption != nil {
		return v.SelectedOption.Value
	}
	return v.Value
}

// interaction serves button clicks and modal submissions.
func (a *App) interaction(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "expected a form with a payload", http.StatusBadRequest)
		return
	}
	var p interactionPayload
	if err := json.Unmarshal([]byte(form.Get("payload")), &p); err != nil {
		http.Error(w, "the payload is not JSON", http.StatusBadRequest)
		return
	}
	switch p.Type {
	case "block_actions":
		for _, act := range p.Actions {
			if act.ActionID == alerting.ActionDeclareIncident && p.TriggerID != "" {
				meta := declareMeta{Channel: p.Channel.ID, Alert: tsuna.Truncate(act.Value, incident.MaxKey)}
				a.goAfterAck(func(ctx context.Context) { a.openDeclare(ctx, p.TriggerID, meta, "") })
			}
		}
		w.WriteHeader(http.StatusOK)
	case "view_submission":
		if p.View.CallbackID != CallbackDeclare {
			w.WriteHeader(http.StatusOK)
			return
		}
		a.submitDeclare(w, r, &p)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// submitDeclare declares the incident of a submitted modal, once per
// modal (its view ID is the idempotency key: a replayed submission
// returns the incident declared first). Bad input is shown on the field
// at fault; the modal then says what was declared.
func (a *App) submitDeclare(w http.ResponseWriter, r *http.Request, p *interactionPayload) {
	var meta declareMeta
	json.Unmarshal([]byte(p.View.PrivateMetadata), &meta)
	get := func(block string) inputValue { return p.View.State.Values[block][block] }
	d := incident.Declaration{
		Title:    strings.TrimSpace(get(blockTitle).text()),
		Summary:  strings.TrimSpace(get(blockSummary).text()),
		Severity: get(blockSeverity).text(),
		Triage:   len(get(blockTriage).SelectedOptions) > 0,
		Key:      "slack:view:" + tsuna.Truncate(p.View.ID, 100),
	}
	if s := strings.TrimSpace(get(blockService).text()); s != "" {
		d.Services = []string{s}
	}
	if meta.Alert != "" {
		d.FromAlert = meta.Alert
	}
	ppl, err := a.people(r.Context())
	if err != nil {
		a.log.Warn("declare from slack", "err", err)
		writeJSON(w, slack.NewErrorsViewSubmissionResponse(map[string]string{blockTitle: "tsuna cannot read the catalog right now; try again in a moment"}))
		return
	}
	inc, _, err := a.cfg.Incidents.Declare(r.Context(), d, ppl.actor(p.User.ID))
	if err != nil {
		msg := tsuna.ErrorMessage(err)
		if tsuna.ErrorCode(err) == tsuna.EINTERNAL || tsuna.ErrorCode(err) == tsuna.EUNAVAILABLE {
			a.log.Error("declare from slack", "err", err)
			msg = "tsuna could not record the incident; try again in a moment"
		}
		writeJSON(w, slack.NewErrorsViewSubmissionResponse(map[string]string{blockOf(msg): cut(msg, 150)}))
		return
	}
	text := fmt.Sprintf("*%s* is declared: %s, %s.\nIts channel is being created; the owning team's on-call is told.",
		inc.Ref, escape(inc.Severity), escape(inc.StatusText()))
	if u := incident.URL(a.cfg.ConsoleURL, inc); u != "" {
		text += "\n<" + u + "|Open it in tsuna>"
	}
	done := &slack.ModalViewRequest{Type: slack.VTModal, Title: plain("Incident declared"), Close: plain("Done"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)}}}
	writeJSON(w, slack.NewUpdateViewSubmissionResponse(done))
}

// blockOf returns the modal block a declaration error is about.
func blockOf(msg string) string {
	switch {
	case strings.HasPrefix(msg, "services"):
		return blockService
	case strings.HasPrefix(msg, "severity"):
		return blockSeverity
	case strings.HasPrefix(msg, "summary"):
		return blockSummary
	}
	return blockTitle
}
