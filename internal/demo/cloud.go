package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/landform/landform"
)

// The test cloud (test/testcloud) keeps every object as the JSON file
// ROOT/<kind>/<id>.json, written atomically; a bucket's id is its name:
//
//	{"id": "prod-flow-logs", "name": "prod-flow-logs", "versioning": true, "tags": {"env": "prod"}}
//
// Editing such a file is what someone changing the object in a real
// cloud's console does: the next refresh sees it, and Landform calls it
// drift.

// The object the demo's drift edits: prod's flow-log bucket, whose
// retention tag the demo's commit added.
const (
	driftKind = "bucket"
	driftID   = "prod-flow-logs"
	driftTag  = "retention"
	// DriftWorkspace and DriftAddress are the workspace and the resource
	// the edit shows up in.
	DriftWorkspace = "envs/prod"
	DriftAddress   = "module.app.module.network.testcloud_bucket.flow_logs"
)

// driftValues are the values the edit sets the tag to, the second when
// the first is there already (an earlier edit).
var driftValues = [2]string{"7d", "1d"}

// Edit is a change made to the test cloud outside Terraform.
type Edit struct {
	// Workspace and Address are where the change shows up.
	Workspace, Address string
	// Object is the object's file.
	Object string
	// Attribute is the path of what changed ("tags.retention"), Before
	// and After its values ("" for none).
	Attribute, Before, After string
}

// MakeDrift edits the test cloud in cloudDir as someone in a hurry would:
// the retention tag of prod's flow-log bucket goes to 7 days (1 day when
// an earlier edit set 7). ENOTFOUND when the bucket does not exist (the
// demo's plans were not applied yet).
func MakeDrift(cloudDir string) (Edit, error) {
	path := filepath.Join(cloudDir, driftKind, driftID+".json")
	e := Edit{Workspace: DriftWorkspace, Address: DriftAddress, Object: path, Attribute: "tags." + driftTag}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return e, landform.Errorf(landform.ENOTFOUND, "the bucket %s is not in the test cloud (%s) yet: approve the demo's plans and let it apply them first", driftID, cloudDir)
	}
	if err != nil {
		return e, err
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		return e, fmt.Errorf("decoding %s: %w", path, err)
	}
	tags, _ := obj["tags"].(map[string]any)
	if tags == nil {
		tags = map[string]any{}
	}
	e.Before, _ = tags[driftTag].(string)
	e.After = driftValues[0]
	if e.Before == e.After {
		e.After = driftValues[1]
	}
	tags[driftTag] = e.After
	obj["tags"] = tags
	out, err := json.Marshal(obj)
	if err != nil {
		return e, err
	}
	return e, writeFileAtomic(path, out, 0o644)
}

// Object is one object of the test cloud.
type Object struct {
	Kind, ID string
	// Attributes are its attributes but id and name, "key=value" sorted
	// by key (tags as "tags.key=value"), secret values hidden.
	Attributes []string
}

// Objects returns the objects of the test cloud in cloudDir, by kind and
// id.
func Objects(cloudDir string) ([]Object, error) {
	kinds, err := os.ReadDir(cloudDir)
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, k := range kinds {
		if !k.IsDir() || strings.HasPrefix(k.Name(), ".") {
			continue
		}
		files, err := os.ReadDir(filepath.Join(cloudDir, k.Name()))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			id, ok := strings.CutSuffix(f.Name(), ".json")
			if !ok || strings.HasPrefix(f.Name(), ".") {
				continue // a write in progress
			}
			data, err := os.ReadFile(filepath.Join(cloudDir, k.Name(), f.Name()))
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile
			}
			if err != nil {
				return nil, err
			}
			var obj map[string]any
			if err := json.Unmarshal(data, &obj); err != nil {
				return nil, fmt.Errorf("decoding %s/%s: %w", k.Name(), f.Name(), err)
			}
			out = append(out, Object{Kind: k.Name(), ID: id, Attributes: attributes(k.Name(), obj)})
		}
	}
	return out, nil
}

// attributes lists obj's attributes as Object.Attributes does.
func attributes(kind string, obj map[string]any) []string {
	var out []string
	for k, v := range obj {
		switch {
		case k == "id" || k == "name":
		case kind == "secret" && k == "value":
			out = append(out, k+"=(hidden)")
		default:
			if m, ok := v.(map[string]any); ok {
				for mk, mv := range m {
					out = append(out, fmt.Sprintf("%s.%s=%v", k, mk, mv))
				}
				continue
			}
			out = append(out, fmt.Sprintf("%s=%v", k, v))
		}
	}
	slices.Sort(out)
	return out
}
