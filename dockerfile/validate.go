package dockerfile

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Parse reads Dockerfile text with BuildKit's own parser and instruction
// decoder, the same code `docker build` runs first. Every Dockerfile strata
// prints must pass it.
func Parse(text string) ([]instructions.Stage, []instructions.ArgCommand, error) {
	res, err := parser.Parse(strings.NewReader(text))
	if err != nil {
		return nil, nil, fmt.Errorf("parse dockerfile: %w", err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("decode dockerfile instructions: %w", err)
	}
	if len(stages) == 0 {
		return nil, nil, fmt.Errorf("decode dockerfile instructions: no FROM")
	}
	return stages, metaArgs, nil
}

// Validate reports whether text parses (see Parse).
func Validate(text string) error {
	_, _, err := Parse(text)
	return err
}

// chunkEnd follows a chunk under test: if the chunk runs on (a trailing
// line continuation, an unterminated heredoc), it swallows this line.
const chunkEnd = "LABEL strata.chunk.end=1"

// checkChunk parses one step's text with BuildKit's parser, below a FROM
// and above a sentinel, and reports how many instructions it holds: first
// the args ARG declarations the step implies (a RUN's recorded build
// args), then at most one instruction, of keyword kw; and the text must
// end where it ends.
func checkChunk(chunk []byte, kw string, args int) (int, error) {
	nl := ""
	if !bytes.HasSuffix(chunk, []byte("\n")) {
		nl = "\n"
	}
	res, err := parser.Parse(io.MultiReader(strings.NewReader("FROM scratch\n"), bytes.NewReader(chunk),
		strings.NewReader(nl+chunkEnd+"\n")))
	if err != nil {
		return 0, fmt.Errorf("parse dockerfile: %w", err)
	}
	nodes := res.AST.Children
	if len(nodes) < 2 || nodes[len(nodes)-1].Original != chunkEnd {
		return 0, fmt.Errorf("the text runs on past its step")
	}
	mid := nodes[1 : len(nodes)-1]
	if len(mid) > args+1 {
		return 0, fmt.Errorf("%d instructions in the text of one step", len(mid))
	}
	for i, n := range mid {
		want := "ARG"
		if i == args {
			want = kw
		}
		if !strings.EqualFold(n.Value, want) {
			return 0, fmt.Errorf("a %s instruction in the text of a %q step", strings.ToUpper(n.Value), kw)
		}
	}
	if _, _, err := instructions.Parse(res.AST, nil); err != nil {
		return 0, fmt.Errorf("decode dockerfile instructions: %w", err)
	}
	return len(mid), nil
}

// checkWhole parses the whole rendered text once and checks it holds
// exactly the want instructions its guarded parts do (FROM and each
// step's), and that BuildKit decodes them.
func checkWhole(text string, want int) error {
	res, err := parser.Parse(strings.NewReader(text))
	if err != nil {
		return fmt.Errorf("parse dockerfile: %w", err)
	}
	if got := len(res.AST.Children); got != want {
		return fmt.Errorf("the Dockerfile holds %d instructions where its steps hold %d", got, want)
	}
	if _, _, err := instructions.Parse(res.AST, nil); err != nil {
		return fmt.Errorf("decode dockerfile instructions: %w", err)
	}
	return nil
}
