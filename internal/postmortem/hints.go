package postmortem

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Phrase is a phrase that blames people, and a rewrite that speaks of the
// system instead.
type Phrase struct {
	Phrase     string `json:"phrase"`
	Suggestion string `json:"suggestion"`
}

// DefaultPhrases are the blaming phrases tsuna points out; an
// organisation adds its own (Options.Phrases).
var DefaultPhrases = []Phrase{
	{"human error", "describe the conditions that made the action possible and its effect likely (missing guard, confusing interface, no review step)"},
	{"should have", "say what the system did not provide at that moment: \"nothing prompted a check of …\""},
	{"forgot to", "\"the process did not include a step to …\" or \"no automation ensured …\""},
	{"careless", "describe what made the mistake easy: \"the command looked the same for staging and production\""},
	{"failed to", "\"… did not happen because …\", with the condition that prevented it"},
	{"negligence", "describe the gap in tooling or process, not a person's diligence"},
	{"blame", "focus on how the system allowed the outcome"},
	{"mistake by", "describe the decision with what was known then, and what would have made another one easier"},
	{"didn't bother", "say what made the step costly or easy to skip"},
	{"should've", "say what the system did not provide at that moment"},
	{"operator error", "describe the interface or guard that let the operation through"},
}

// Hint points out a blaming phrase in a text: a suggestion, never a block.
type Hint struct {
	// Line and Column are 1-based (the column counts characters).
	Line   int `json:"line"`
	Column int `json:"column"`
	// Offset and Length are in bytes of the text.
	Offset     int    `json:"offset"`
	Length     int    `json:"length"`
	Phrase     string `json:"phrase"`
	Suggestion string `json:"suggestion"`
}

// maxHints bounds the hints of one text.
const maxHints = 200

// Hints finds the phrases in text, case-insensitively and on word
// boundaries, in order of position.
func Hints(text string, phrases []Phrase) []Hint {
	if len(phrases) == 0 {
		phrases = DefaultPhrases
	}
	lower := asciiLower(text) // same length as text, so offsets hold
	var out []Hint
	for i := 0; i < len(lower) && len(out) < maxHints; {
		matched := false
		if i == 0 || !isWord(lastRune(lower[:i])) {
			for _, p := range phrases {
				ph := asciiLower(p.Phrase)
				if ph == "" || !strings.HasPrefix(lower[i:], ph) {
					continue
				}
				end := i + len(ph)
				if end < len(lower) {
					if r, _ := utf8.DecodeRuneInString(lower[end:]); isWord(r) {
						continue
					}
				}
				line := 1 + strings.Count(text[:i], "\n")
				col := 1 + utf8.RuneCountInString(text[strings.LastIndexByte(text[:i], '\n')+1:i])
				out = append(out, Hint{Line: line, Column: col, Offset: i, Length: len(ph), Phrase: text[i:end], Suggestion: p.Suggestion})
				i = end
				matched = true
				break
			}
		}
		if !matched {
			_, size := utf8.DecodeRuneInString(lower[i:])
			i += size
		}
	}
	return out
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

// asciiLower lowers ASCII letters only, keeping every byte offset.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
