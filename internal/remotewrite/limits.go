package remotewrite

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cwstream/cwstream/internal/sample"
)

// nameLabel is the label that carries the metric name on the wire.
const nameLabel = "__name__"

// limits are the guard's thresholds, from Config.
type limits struct {
	maxLabels, maxNameLen, maxValueLen int
}

// checkLabels checks a sorted label slice (without __name__) on its own, so
// the result can be shared by every series using the slice: count (with
// __name__), names, lengths, values and duplicates. It returns the reason and
// detail, or "" when the labels are fine.
func (l limits) checkLabels(labels []sample.Label) (reason, detail string) {
	if n := len(labels) + 1; n > l.maxLabels {
		return ReasonTooManyLabels, fmt.Sprintf("%d labels including __name__, limit %d", n, l.maxLabels)
	}
	for i, lb := range labels {
		switch {
		case !validName(lb.Name, labelNameChars):
			return ReasonInvalidLabelName, fmt.Sprintf("label name %q does not match [a-zA-Z_][a-zA-Z0-9_]*", lb.Name)
		case lb.Name == nameLabel:
			return ReasonDuplicateLabelName, "label __name__ given besides the metric name"
		case i > 0 && labels[i-1].Name == lb.Name:
			return ReasonDuplicateLabelName, fmt.Sprintf("label %q given twice", lb.Name)
		case len(lb.Name) > l.maxNameLen:
			return ReasonLabelNameTooLong, fmt.Sprintf("label name %.40q… is %d bytes, limit %d", lb.Name, len(lb.Name), l.maxNameLen)
		case lb.Value == "":
			// The spec forbids empty values; Prometheus reads an empty value
			// as "no label", so sending it would change the series.
			return ReasonEmptyLabelValue, fmt.Sprintf("label %q has an empty value", lb.Name)
		case len(lb.Value) > l.maxValueLen:
			return ReasonLabelValueTooLong, fmt.Sprintf("label %q value is %d bytes, limit %d", lb.Name, len(lb.Value), l.maxValueLen)
		case !utf8.ValidString(lb.Value):
			return ReasonInvalidLabelValue, fmt.Sprintf("label %q value is not valid UTF-8", lb.Name)
		}
	}
	return "", ""
}

// checkName checks the metric name: the spec's metric name syntax, and the
// label value length limit (it is the value of __name__).
func (l limits) checkName(name string) (reason, detail string) {
	switch {
	case !validName(name, metricNameChars):
		return ReasonInvalidMetricName, fmt.Sprintf("metric name %q does not match [a-zA-Z_:][a-zA-Z0-9_:]*", name)
	case len(name) > l.maxValueLen:
		return ReasonLabelValueTooLong, fmt.Sprintf("metric name (__name__ value) is %d bytes, limit %d", len(name), l.maxValueLen)
	}
	return "", ""
}

// The characters of the legacy (pre-UTF-8) name syntax the remote-write
// spec requires: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]*. Bit 0: may start a name; bit 1: may follow.
var metricNameChars, labelNameChars = nameChars(true), nameChars(false)

func nameChars(colon bool) (t [256]uint8) {
	for c := range 256 {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || colon && c == ':'
		switch {
		case letter:
			t[c] = 3
		case c >= '0' && c <= '9':
			t[c] = 2
		}
	}
	return t
}

// validName is model.IsValidLegacyMetricName (metricNameChars) or
// model.LegacyValidation.IsValidLabelName (labelNameChars) by table, a
// byte at a time: a name is checked once per new series of every Write,
// and the model's rune-by-rune check was a sixth of grouping's time.
func validName(name string, chars [256]uint8) bool {
	if name == "" || chars[name[0]]&1 == 0 {
		return false
	}
	for i := 1; i < len(name); i++ {
		if chars[name[i]]&2 == 0 {
			return false
		}
	}
	return true
}

// seriesString renders a series for error messages, name{a="b",…}, capped so
// one huge label cannot flood a log line.
func seriesString(name string, labels []sample.Label) string {
	const maxLen = 512
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(l.Value))
		if b.Len() > maxLen {
			break
		}
	}
	b.WriteByte('}')
	s := b.String()
	if len(s) > maxLen {
		s = s[:maxLen] + "…}"
	}
	return s
}
