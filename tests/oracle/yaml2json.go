// yaml2json reads a multi-document YAML stream on stdin and prints, for each
// non-empty document, one JSON line: what Helm reads from a post-renderer's
// output. It splits the stream exactly as Helm's releaseutil.SplitManifests
// does and converts each document with sigs.k8s.io/yaml (go-yaml v2 rules),
// the reader Helm 3 and Helm 4 hand rendered manifests to.
//
// Build (GOPATH mode, Debian's golang-k8s-sigs-yaml-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o .tools/bin/go-yaml2json tests/oracle/yaml2json.go
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// Helm's releaseutil separator: "---" at the start or after a newline, plus
// any whitespace that follows it.
var sep = regexp.MustCompile("(?:^|\\s*\n)---\\s*")

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for i, doc := range sep.Split(strings.TrimSpace(string(in)), -1) {
		doc = strings.TrimSpace(doc)
		if doc == "" {
			continue
		}
		js, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			out.Flush()
			fmt.Fprintf(os.Stderr, "document %d: %v\n", i, err)
			os.Exit(1)
		}
		if string(js) == "null" {
			continue
		}
		out.Write(js)
		out.WriteByte('\n')
	}
}
