package parser

import (
	"sync"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// The word grammar of a configuration line, as a participle grammar: the
// definition splitWords (keepalived's alloc_strvec_r) implements by hand
// for speed, and FuzzParse holds the two equal. Everything above the word
// level (blocks, value blocks, what a brace means) is decided by the keyword
// tables, as in keepalived, so it is not a grammar (see stream.go).
type wordLine struct {
	Words []*word `parser:"@@*"`
}

type word struct {
	Quoted *string `parser:"  @Quoted"`
	Bare   *string `parser:"| @Bare"`
}

func (w *word) text() string {
	if w.Quoted != nil {
		s := *w.Quoted
		return s[1 : len(s)-1]
	}
	return *w.Bare
}

var (
	wordGrammarOnce sync.Once
	wordGrammar     *participle.Parser[wordLine]
)

func wordParser() *participle.Parser[wordLine] {
	wordGrammarOnce.Do(func() {
		wordGrammar = participle.MustBuild[wordLine](participle.Lexer(lexer.MustSimple([]lexer.SimpleRule{
			{Name: "Quoted", Pattern: `"[^"]*"`},
			{Name: "Bare", Pattern: `[^" \t\f\r\n\v]+`},
			{Name: "Space", Pattern: `[ \t\f\r\n\v]+`},
		})), participle.Elide("Space"))
	})
	return wordGrammar
}

// grammarWords splits a line with the participle grammar; ok is false
// where keepalived reports an unmatched quote (the words before it stand).
func grammarWords(s string) (words []string, ok bool) {
	l, err := wordParser().ParseString("", s)
	if err != nil {
		// An unmatched quote: keep the words before it, as keepalived does.
		end := len(s)
		if i := unmatchedQuote(s); i >= 0 {
			end = i
		}
		l, err = wordParser().ParseString("", s[:end])
		if err != nil {
			return nil, false
		}
		ok = false
	} else {
		ok = true
	}
	for _, w := range l.Words {
		words = append(words, w.text())
	}
	return words, ok
}

// unmatchedQuote finds the quote that has no closing partner.
func unmatchedQuote(s string) int {
	open := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			if open < 0 {
				open = i
			} else {
				open = -1
			}
		}
	}
	return open
}
