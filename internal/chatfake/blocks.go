package chatfake

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Block Kit limits Slack enforces.
const (
	maxMessageBlocks  = 50
	maxViewBlocks     = 100
	maxSectionText    = 3000
	maxSectionField   = 2000
	maxSectionFields  = 10
	maxHeaderText     = 150
	maxContextItems   = 10
	maxActionElements = 25
	maxBlockID        = 255
	maxViewTitle      = 24
	maxViewBytes      = 250 << 10
	maxPrivateMeta    = 3000
)

// otherBlocks are block types the fake accepts without checking them.
var otherBlocks = map[string]bool{
	"rich_text": true, "markdown": true, "file": true, "video": true, "call": true,
	"table": true, "context_actions": true, "card": true, "carousel": true,
	"alert": true, "plan": true, "task_card": true, "data_table": true,
	"data_visualization": true,
}

// checker collects Slack's detail lines for invalid Block Kit, such as
// "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]".
type checker struct {
	msgs []string
}

func (c *checker) add(ptr, format string, args ...any) {
	c.msgs = append(c.msgs, "[ERROR] "+fmt.Sprintf(format, args...)+" [json-pointer:"+ptr+"]")
}

// validateBlocks checks a decoded blocks array against Slack's limits and
// returns the problems found.
func validateBlocks(v any, ptr string, maxBlocks int) []string {
	var c checker
	c.blocks(v, ptr, maxBlocks)
	return c.msgs
}

func (c *checker) blocks(v any, ptr string, maxBlocks int) {
	arr, ok := v.([]any)
	if !ok {
		c.add(ptr, "must be an array")
		return
	}
	if len(arr) > maxBlocks {
		c.add(ptr, "no more than %d items allowed", maxBlocks)
	}
	ids := map[string]bool{}
	for i, b := range arr {
		p := ptr + "/" + strconv.Itoa(i)
		m, ok := b.(map[string]any)
		if !ok {
			c.add(p, "must be an object")
			continue
		}
		if raw, ok := m["block_id"]; ok {
			id, isStr := raw.(string)
			switch {
			case !isStr:
				c.add(p+"/block_id", "must be a string")
			case len(id) > maxBlockID:
				c.add(p+"/block_id", "must be less than %d characters", maxBlockID+1)
			case ids[id]:
				c.add(p+"/block_id", "duplicate block_id %q", id)
			}
			ids[id] = true
		}
		c.block(m, p)
	}
}

func (c *checker) block(m map[string]any, p string) {
	typ, _ := m["type"].(string)
	switch typ {
	case "section":
		text, hasText := m["text"]
		fields, hasFields := m["fields"]
		if !hasText && !hasFields {
			c.add(p, "must provide either text or fields")
		}
		if hasText {
			c.text(text, p+"/text", maxSectionText, false)
		}
		if hasFields {
			c.list(fields, p+"/fields", 1, maxSectionFields, func(v any, ptr string) {
				c.text(v, ptr, maxSectionField, false)
			})
		}
		if acc, ok := m["accessory"]; ok {
			c.element(acc, p+"/accessory")
		}
	case "header":
		c.required(m, "text", p, func(v any, ptr string) { c.text(v, ptr, maxHeaderText, true) })
	case "context":
		c.required(m, "elements", p, func(v any, ptr string) {
			c.list(v, ptr, 1, maxContextItems, func(v any, ptr string) {
				if e, ok := v.(map[string]any); ok && e["type"] == "image" {
					c.image(e, ptr)
					return
				}
				c.text(v, ptr, maxSectionText, false)
			})
		})
	case "actions":
		c.required(m, "elements", p, func(v any, ptr string) {
			c.list(v, ptr, 1, maxActionElements, c.element)
		})
	case "divider":
	case "image":
		c.image(m, p)
		if t, ok := m["title"]; ok {
			c.text(t, p+"/title", 2000, true)
		}
	case "input":
		c.required(m, "label", p, func(v any, ptr string) { c.text(v, ptr, 2000, true) })
		c.required(m, "element", p, c.element)
		if h, ok := m["hint"]; ok {
			c.text(h, p+"/hint", 2000, true)
		}
	case "":
		c.add(p, "missing required field: type")
	default:
		if !otherBlocks[typ] {
			c.add(p+"/type", "unsupported type: %s", typ)
		}
	}
}

func (c *checker) required(m map[string]any, key, p string, check func(any, string)) {
	v, ok := m[key]
	if !ok {
		c.add(p, "missing required field: %s", key)
		return
	}
	check(v, p+"/"+key)
}

func (c *checker) list(v any, p string, minItems, maxItems int, each func(any, string)) {
	arr, ok := v.([]any)
	if !ok {
		c.add(p, "must be an array")
		return
	}
	if len(arr) < minItems {
		c.add(p, "must provide at least %d items", minItems)
	}
	if len(arr) > maxItems {
		c.add(p, "no more than %d items allowed", maxItems)
	}
	for i, e := range arr {
		each(e, p+"/"+strconv.Itoa(i))
	}
}

func (c *checker) image(m map[string]any, p string) {
	c.required(m, "alt_text", p, func(v any, ptr string) { c.str(v, ptr, 2000) })
	url, hasURL := m["image_url"]
	_, hasFile := m["slack_file"]
	switch {
	case hasURL:
		c.str(url, p+"/image_url", 3000)
	case !hasFile:
		c.add(p, "must provide either image_url or slack_file")
	}
}

func (c *checker) element(v any, p string) {
	m, ok := v.(map[string]any)
	if !ok {
		c.add(p, "must be an object")
		return
	}
	typ, _ := m["type"].(string)
	if typ == "" {
		c.add(p, "missing required field: type")
	}
	if id, ok := m["action_id"]; ok {
		c.str(id, p+"/action_id", maxBlockID)
	}
	if typ == "button" {
		c.required(m, "text", p, func(v any, ptr string) { c.text(v, ptr, 75, true) })
		if v, ok := m["value"]; ok {
			c.str(v, p+"/value", 2000)
		}
		if v, ok := m["url"]; ok {
			c.str(v, p+"/url", 3000)
		}
	}
}

// text checks a text object: plain_text or mrkdwn, 1 to maxLen characters.
func (c *checker) text(v any, p string, maxLen int, plainOnly bool) {
	m, ok := v.(map[string]any)
	if !ok {
		c.add(p, "must be an object")
		return
	}
	switch m["type"] {
	case "plain_text":
	case "mrkdwn":
		if plainOnly {
			c.add(p+"/type", "must be plain_text")
		}
	default:
		c.add(p+"/type", "must be plain_text or mrkdwn")
	}
	c.required(m, "text", p, func(v any, ptr string) { c.str(v, ptr, maxLen) })
}

// str checks a string of 1 to maxLen characters.
func (c *checker) str(v any, p string, maxLen int) {
	s, ok := v.(string)
	if !ok {
		c.add(p, "must be a string")
		return
	}
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		c.add(p, "must be more than 0 characters")
	case n > maxLen:
		c.add(p, "must be less than %d characters", maxLen+1)
	}
}

// validateView checks a modal view as views.open, views.push and
// views.update do, and returns it decoded.
func validateView(raw json.RawMessage) (map[string]any, *apiError) {
	if raw == nil {
		return nil, &apiError{code: "invalid_arguments", messages: []string{"[ERROR] missing required field: view [json-pointer:/view]"}}
	}
	if len(raw) > maxViewBytes {
		return nil, errCode("view_too_large")
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, &apiError{code: "invalid_arguments", messages: []string{"[ERROR] must be a JSON object [json-pointer:/view]"}}
	}
	var c checker
	if m["type"] != "modal" {
		c.add("/view/type", "must be modal")
	}
	title := func(v any, ptr string) { c.text(v, ptr, maxViewTitle, true) }
	c.required(m, "title", "/view", title)
	for _, k := range []string{"close", "submit"} {
		if v, ok := m[k]; ok {
			title(v, "/view/"+k)
		}
	}
	c.required(m, "blocks", "/view", func(v any, ptr string) { c.blocks(v, ptr, maxViewBlocks) })
	if blocks, ok := m["blocks"].([]any); ok && m["submit"] == nil {
		for i, b := range blocks {
			if b, ok := b.(map[string]any); ok && b["type"] == "input" {
				c.add("/view/blocks/"+strconv.Itoa(i), "must provide submit when view contains input blocks")
				break
			}
		}
	}
	for _, l := range []struct {
		key string
		max int
	}{{"private_metadata", maxPrivateMeta}, {"callback_id", 255}, {"external_id", 255}} {
		if s, ok := m[l.key].(string); ok && utf8.RuneCountInString(s) > l.max {
			c.add("/view/"+l.key, "must be less than %d characters", l.max+1)
		}
	}
	if len(c.msgs) > 0 {
		return nil, &apiError{code: "invalid_arguments", messages: c.msgs}
	}
	return m, nil
}
