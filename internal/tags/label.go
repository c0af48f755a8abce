package tags

import (
	"strings"

	"github.com/prometheus/common/model"
)

// tagReplacer is YACE's tag-key sanitising (promutil.sanitize, with
// labels_snake_case off, its default): these characters become "_", "%"
// becomes "_percent"; case is kept and nothing is split.
var tagReplacer = strings.NewReplacer(
	" ", "_", ",", "_", "\t", "_", "/", "_", "\\", "_", ".", "_", "-", "_",
	":", "_", "=", "_", "\u201c", "_", "@", "_", "<", "_", ">", "_",
	"%", "_percent",
)

// LabelName returns the label name of a tag key: "tag_" and the key
// sanitised as YACE does. ok is false when the sanitised key is still not a
// classic Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*: a key starting with
// a digit, or holding "(" or a non-ASCII letter); YACE leaves such a tag out
// too, and so does cwstream, since a store with classic names would reject
// the whole series. The tag's value is never changed.
func LabelName(key string) (name string, ok bool) {
	s := tagReplacer.Replace(key)
	if !model.LabelName(s).IsValidLegacy() {
		return "", false
	}
	return "tag_" + s, true
}
