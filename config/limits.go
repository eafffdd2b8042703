package config

import (
	"fmt"
	"io"
	"io/fs"

	"gopkg.in/yaml.v3"
)

// fileTooLarge is readLimited's error for a file over the limit.
type fileTooLarge struct {
	size, limit int64 // size is at least limit+1 when the file lied about it
}

func (e *fileTooLarge) Error() string {
	return fmt.Sprintf("%d bytes; at most %d are allowed", e.size, e.limit)
}

// readLimited reads the file name of fsys when it is at most limit bytes:
// the size fsys reports (fs.Stat) is checked before the file is opened —
// some file systems, gitrepo.TreeFS among them, read a whole file into
// memory on Open — and no more than limit+1 bytes are read whatever it
// reported. A larger file is a *fileTooLarge.
func readLimited(fsys fs.FS, name string, limit int64) ([]byte, error) {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, &fileTooLarge{size: fi.Size(), limit: limit}
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &fileTooLarge{size: int64(len(data)), limit: limit}
	}
	return data, nil
}

// maxExpandedNodes bounds the YAML nodes of a document with its aliases
// expanded: what the decoder may have to walk. A file with no alias has at
// most one node per two bytes, so only aliasing reaches it ("billion
// laughs": a list of many entries, each an alias of a long list).
const maxExpandedNodes = 1 << 20

// expandedSize returns the number of nodes of the tree under root with
// every alias counted as the node it names, up to limit+1. An alias that
// names a node containing it counts as more than limit.
func expandedSize(root *yaml.Node, limit int) int {
	size := map[*yaml.Node]int{} // done; -1: being counted
	var count func(n *yaml.Node) int
	count = func(n *yaml.Node) int {
		if n == nil {
			return 0
		}
		if n.Kind == yaml.AliasNode {
			t := n.Alias
			if t == nil {
				return 1
			}
			switch s, ok := size[t]; {
			case ok && s < 0:
				return limit + 1 // a cycle
			case ok:
				return s
			}
			return count(t)
		}
		if s, ok := size[n]; ok && s >= 0 {
			return s
		}
		size[n] = -1
		total := 1
		for _, c := range n.Content {
			total += count(c)
			if total > limit {
				total = limit + 1
				break
			}
		}
		size[n] = total
		return total
	}
	return count(root)
}
