// yaml2json reads a multi-document YAML stream on stdin and prints, for each
// non-empty document, one JSON line: what Helm reads from a post-renderer's
// output. Each document is converted with sigs.k8s.io/yaml (go-yaml v2 rules),
// the reader Helm 3 and Helm 4 hand rendered manifests to.
//
// By default the stream is split as Helm's releaseutil.SplitManifests does
// (which trims each document, so a block scalar ending a document loses its
// final newline). With -kube it is split as the Kubernetes client's
// YAMLReader does when Helm builds the resources it sends to the cluster:
// documents are the untrimmed lines between "---" lines, and a separator
// followed by anything but a comment is an error.
//
// Build (GOPATH mode, Debian's golang-k8s-sigs-yaml-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o .tools/bin/go-yaml2json tests/oracle/yaml2json.go
package main

import (
	"bufio"
	"bytes"
	"flag"
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

func releaseutilSplit(in string) []string {
	var docs []string
	for _, doc := range sep.Split(strings.TrimSpace(in), -1) {
		docs = append(docs, strings.TrimSpace(doc))
	}
	return docs
}

// kubeSplit mirrors k8s.io/apimachinery/pkg/util/yaml YAMLReader.Read.
func kubeSplit(in string) ([]string, error) {
	var docs []string
	var buffer bytes.Buffer
	for _, line := range strings.SplitAfter(in, "\n") {
		if strings.HasPrefix(line, "---") {
			trimmed := strings.TrimSpace(line[3:])
			if len(trimmed) > 0 && trimmed[0] != '#' {
				return nil, fmt.Errorf("invalid Yaml document separator: %s", trimmed)
			}
			docs = append(docs, buffer.String())
			buffer.Reset()
			continue
		}
		buffer.WriteString(line)
	}
	return append(docs, buffer.String()), nil
}

func main() {
	kube := flag.Bool("kube", false, "split like the Kubernetes client instead of releaseutil")
	flag.Parse()
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	docs := releaseutilSplit(string(in))
	if *kube {
		if docs, err = kubeSplit(string(in)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for i, doc := range docs {
		if strings.TrimSpace(doc) == "" {
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
