package chatfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// TriggerTTL is how long a trigger_id stays valid: Slack gives an app
// 3 seconds to open a modal after a slash command or an interaction.
const TriggerTTL = 3 * time.Second

// maxPush is how many views a modal stack holds (the root and 2 pushed).
const maxPush = 3

// View is a modal the app opened, pushed or updated.
type View struct {
	ID              string
	ExternalID      string
	Hash            string // changes on every update; views.update may send it
	RootViewID      string // the first view of its stack (its own ID for views.open)
	PreviousViewID  string // the view it was pushed over, "" for views.open
	Type            string // "modal"
	Title           string
	CallbackID      string
	PrivateMetadata string
	Blocks          json.RawMessage
	JSON            json.RawMessage // the view object as last sent by the app
	OpenedBy        string          // "views.open" or "views.push"
	TriggerID       string
	Updates         int // how many times views.update replaced it
}

// NewTriggerID issues a trigger_id, as Slack puts in a slash command or an
// interaction payload: it opens or pushes one view within TriggerTTL of now,
// by the fake's clock.
func (f *Fake) NewTriggerID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newTriggerID()
}

func (f *Fake) newTriggerID() string {
	f.seq++
	now := f.now()
	id := fmt.Sprintf("%d.%d.%s", f.seq, now.Unix(), randHex(16))
	f.triggers[id] = &trigger{issued: now}
	return id
}

// Views lists the views the app opened or pushed, in order.
func (f *Fake) Views() []View {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]View, 0, len(f.views))
	for _, v := range f.views {
		c := v.View
		c.Blocks = slices.Clone(v.Blocks)
		c.JSON = slices.Clone(v.JSON)
		out = append(out, c)
	}
	return out
}

type view struct {
	View
	obj map[string]any // the view object as last sent
}

// exchange checks a trigger_id: issued by the fake, not used, not expired.
func (f *Fake) exchange(q *request) (string, *apiError) {
	id := q.str("trigger_id")
	if id == "" {
		id = q.str("interactivity_pointer")
	}
	t := f.triggers[id]
	switch {
	case t == nil:
		return "", errCode("invalid_trigger_id")
	case t.used:
		return "", errCode("exchanged_trigger_id")
	case f.now().Sub(t.issued) > TriggerTTL:
		return "", errCode("expired_trigger_id")
	}
	return id, nil
}

func (f *Fake) viewBy(id, externalID string) *view {
	for _, v := range f.views {
		if (id != "" && v.ID == id) || (externalID != "" && v.ExternalID == externalID) {
			return v
		}
	}
	return nil
}

// store keeps a view object the app sent.
func (f *Fake) store(v *view, obj map[string]any) {
	v.obj = obj
	s := func(k string) string { x, _ := obj[k].(string); return x }
	v.Type, v.CallbackID, v.PrivateMetadata = s("type"), s("callback_id"), s("private_metadata")
	if ext := s("external_id"); ext != "" {
		v.ExternalID = ext
	}
	v.Title = ""
	if t, ok := obj["title"].(map[string]any); ok {
		v.Title, _ = t["text"].(string)
	}
	v.Blocks, _ = json.Marshal(obj["blocks"])
	v.JSON, _ = json.Marshal(obj)
	v.Hash = fmt.Sprintf("%d.%s", f.now().Unix(), randHex(4))
}

func (f *Fake) viewJSON(v *view) map[string]any {
	j := maps.Clone(v.obj)
	for _, k := range []string{"private_metadata", "callback_id"} {
		if _, ok := j[k]; !ok {
			j[k] = ""
		}
	}
	j["external_id"] = v.ExternalID
	j["id"], j["team_id"], j["app_id"], j["bot_id"] = v.ID, TeamID, AppID, BotID
	j["app_installed_team_id"] = TeamID
	j["hash"], j["root_view_id"], j["previous_view_id"] = v.Hash, v.RootViewID, nil
	if v.PreviousViewID != "" {
		j["previous_view_id"] = v.PreviousViewID
	}
	j["state"] = map[string]any{"values": map[string]any{}}
	return j
}

func (f *Fake) openView(q *request, by string) (*view, *apiError) {
	tid, e := f.exchange(q)
	if e != nil {
		return nil, e
	}
	obj, e := validateView(q.raw("view"))
	if e != nil {
		return nil, e
	}
	if ext, _ := obj["external_id"].(string); ext != "" && f.viewBy("", ext) != nil {
		return nil, errCode("duplicate_external_id")
	}
	v := &view{View: View{ID: f.nextID("V"), OpenedBy: by, TriggerID: tid}}
	v.RootViewID = v.ID
	if by == "views.push" {
		var root *view
		for _, o := range slices.Backward(f.views) {
			if o.OpenedBy == "views.open" {
				root = o
				break
			}
		}
		if root == nil {
			return nil, errCode("not_found")
		}
		var stack []*view
		for _, o := range f.views {
			if o.RootViewID == root.ID {
				stack = append(stack, o)
			}
		}
		if len(stack) >= maxPush {
			return nil, errCode("push_limit_reached")
		}
		v.RootViewID, v.PreviousViewID = root.ID, stack[len(stack)-1].ID
	}
	f.triggers[tid].used = true
	f.store(v, obj)
	f.views = append(f.views, v)
	return v, nil
}

func (f *Fake) viewsOpen(q *request) (result, *apiError) {
	v, e := f.openView(q, "views.open")
	if e != nil {
		return nil, e
	}
	return result{"view": f.viewJSON(v)}, nil
}

// viewsPush pushes onto the stack of the latest view opened with
// views.open.
func (f *Fake) viewsPush(q *request) (result, *apiError) {
	v, e := f.openView(q, "views.push")
	if e != nil {
		return nil, e
	}
	return result{"view": f.viewJSON(v)}, nil
}

func (f *Fake) viewsUpdate(q *request) (result, *apiError) {
	id, ext := q.str("view_id"), q.str("external_id")
	if id == "" && ext == "" {
		return nil, errCode("invalid_arguments")
	}
	v := f.viewBy(id, ext)
	if v == nil {
		return nil, errCode("not_found")
	}
	if h := q.str("hash"); h != "" && h != v.Hash {
		return nil, errCode("hash_conflict")
	}
	obj, e := validateView(q.raw("view"))
	if e != nil {
		return nil, e
	}
	if ne, _ := obj["external_id"].(string); ne != "" {
		if o := f.viewBy("", ne); o != nil && o != v {
			return nil, errCode("duplicate_external_id")
		}
	}
	f.store(v, obj)
	v.Updates++
	return result{"view": f.viewJSON(v)}, nil
}
