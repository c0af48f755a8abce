package cfnupdate

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Stack is one synthesized (or deployed) stack.
type Stack struct {
	Name, Region string
	// Template is the template's JSON, decoded.
	Template map[string]any
}

// Action is what an update does to one resource.
type Action string

const (
	Add     Action = "add"
	Modify  Action = "modify"
	Replace Action = "replace"
	Remove  Action = "remove"
)

// Change is one resource's part of the update (unchanged ones are left out).
type Change struct {
	Stack, LogicalID, Type string
	Action                 Action
	// Why names the create-only property (or the type change) that forces
	// a replacement.
	Why string
}

func (c Change) String() string {
	s := fmt.Sprintf("%s %s/%s (%s)", c.Action, c.Stack, c.LogicalID, c.Type)
	if c.Why != "" {
		s += ": " + c.Why
	}
	return s
}

// Refusal is a change CloudFormation, CDK's handlers or the service would
// refuse or get wrong; Source is the page (or code) that says so.
type Refusal struct {
	Stack, Where, Problem, Source string
}

func (r Refusal) String() string {
	return fmt.Sprintf("%s %s: %s (%s)", r.Stack, r.Where, r.Problem, r.Source)
}

// LeftBehind is something the update leaves deployed, and billed: a
// retained resource, or a stack the new app no longer has.
type LeftBehind struct {
	Stack, LogicalID, Type, Why string
}

func (l LeftBehind) String() string {
	if l.LogicalID == "" {
		return fmt.Sprintf("stack %s: %s", l.Stack, l.Why)
	}
	return fmt.Sprintf("%s/%s (%s): %s", l.Stack, l.LogicalID, l.Type, l.Why)
}

// Result is the modelled update.
type Result struct {
	Changes    []Change
	Refused    []Refusal
	LeftBehind []LeftBehind
}

// Replaced returns the replaced and removed resources, one line each.
func (r *Result) Replaced() []string {
	var out []string
	for _, c := range r.Changes {
		if c.Action == Replace || c.Action == Remove {
			out = append(out, c.String())
		}
	}
	return out
}

// Rule is a change a service refuses although CloudFormation would try it
// as an update.
type Rule struct {
	Type string
	// Refuses says why an in-place update from before to after (the
	// resources' Properties) fails, or "".
	Refuses func(before, after map[string]any) string
	Source  string
}

// URLs of the pages the built-in checks rest on.
const (
	importValueURL    = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html"
	getStackOutputURL = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html"
	exportWriterSrc   = "aws-cdk-lib core/lib/dist/core/cross-region-ssm-writer-handler: on Update it puts only parameter names the old properties lack"
	// FirehoseBackupURL: Firehose Developer Guide, "Back up source records":
	// "You cannot disable source record backup after you enable it."
	FirehoseBackupURL = "https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-source-record-backup.html"
)

// FirehoseBackupRule refuses an in-place change of a delivery stream's
// source record backup (S3BackupMode) from Enabled to anything else.
var FirehoseBackupRule = Rule{
	Type: "AWS::KinesisFirehose::DeliveryStream",
	Refuses: func(before, after map[string]any) string {
		mode := func(p map[string]any) any {
			d, _ := p["ExtendedS3DestinationConfiguration"].(map[string]any)
			return d["S3BackupMode"]
		}
		if mode(before) == "Enabled" && mode(after) != "Enabled" {
			return fmt.Sprintf("S3BackupMode Enabled → %v in place: Firehose cannot disable source record backup once enabled", mode(after))
		}
		return ""
	},
	Source: FirehoseBackupURL,
}

// DefaultRules are the service rules this package knows.
var DefaultRules = []Rule{FirehoseBackupRule}

// retainPolicies keep a resource when it leaves the stack.
var retainPolicies = []string{"Retain", "RetainExceptOnCreate", "Snapshot"}

// noSchema are types without a registry schema that update in place: CDK's
// metadata, and custom resources (their handler decides; a new physical id
// would be its own doing).
func noSchema(typ string) bool {
	return typ == "AWS::CDK::Metadata" || strings.HasPrefix(typ, "Custom::") || typ == "AWS::CloudFormation::CustomResource"
}

// Compare models the update of the deployed stacks before to after: every
// stack of after in its order, the ones before lacks being created. A stack
// only before stays deployed unchanged (cdk deploy deletes no stack).
func Compare(before, after []Stack, schemas Schemas, rules []Rule) (*Result, error) {
	m := &model{
		before: byName(before), after: byName(after),
		replaced:       map[string]map[string]bool{},
		changedOutputs: map[[2]string]bool{},
	}
	res := &Result{}
	// Replacements cascade within and across stacks (a create-only property
	// naming a replaced resource or a changed output), so iterate to a
	// fixed point.
	for {
		grew := false
		for _, a := range after {
			b, ok := m.before[a.Name]
			if !ok {
				continue
			}
			ids, err := m.replacements(b, a, schemas)
			if err != nil {
				return nil, err
			}
			for id := range ids {
				if !m.replaced[a.Name][id] {
					if m.replaced[a.Name] == nil {
						m.replaced[a.Name] = map[string]bool{}
					}
					m.replaced[a.Name][id] = true
					grew = true
				}
			}
			for _, out := range m.outputsChanged(b, a) {
				if !m.changedOutputs[[2]string{a.Name, out}] {
					m.changedOutputs[[2]string{a.Name, out}] = true
					grew = true
				}
			}
		}
		if !grew {
			break
		}
	}
	for _, a := range after {
		b, ok := m.before[a.Name]
		if !ok {
			continue
		}
		m.changes(res, b, a, schemas, rules)
	}
	for _, b := range before {
		if _, ok := m.after[b.Name]; !ok {
			res.LeftBehind = append(res.LeftBehind, LeftBehind{Stack: b.Name, Why: "no longer synthesized; `cdk deploy` does not delete it (`cdk destroy` it, or delete it in CloudFormation)"})
		}
	}
	m.crossStack(res)
	return res, nil
}

type model struct {
	before, after map[string]Stack
	// replaced: stack → logical id of a resource replaced or removed.
	replaced map[string]map[string]bool
	// changedOutputs: (stack, output logical id) whose value changes.
	changedOutputs map[[2]string]bool
}

func byName(stacks []Stack) map[string]Stack {
	m := map[string]Stack{}
	for _, s := range stacks {
		m[s.Name] = s
	}
	return m
}

func section(t map[string]any, name string) map[string]any {
	s, _ := t[name].(map[string]any)
	return s
}

func resource(t map[string]any, id string) (typ string, props map[string]any, r map[string]any) {
	r, _ = section(t, "Resources")[id].(map[string]any)
	typ, _ = r["Type"].(string)
	props, _ = r["Properties"].(map[string]any)
	return typ, props, r
}

// replacements returns the logical ids of stack a's resources that the
// update replaces or removes, with the current knowledge of the model.
func (m *model) replacements(b, a Stack, schemas Schemas) (map[string]string, error) {
	out := map[string]string{}
	for id := range section(b.Template, "Resources") {
		bt, bp, _ := resource(b.Template, id)
		at, ap, ar := resource(a.Template, id)
		if ar == nil {
			out[id] = "removed"
			continue
		}
		if at != bt {
			out[id] = fmt.Sprintf("type %s → %s", bt, at)
			continue
		}
		if noSchema(at) {
			continue
		}
		pointers, ok := schemas.CreateOnly(a.Region, at)
		if !ok {
			return nil, fmt.Errorf("stack %s: resource %s: no resource schema for %s in %s", a.Name, id, at, a.Region)
		}
		for _, p := range pointers {
			bv, av := project(bp, p), project(ap, p)
			if !reflect.DeepEqual(bv, av) {
				out[id] = "create-only " + p + " changes"
				break
			}
			if m.moves(a, av) {
				out[id] = "create-only " + p + " refers to a replaced resource or a changed output"
				break
			}
		}
	}
	return out, nil
}

// project returns the values at a schema pointer (/properties/A/B, with *
// for every element of a list), as one list.
func project(props map[string]any, pointer string) []any {
	parts := strings.Split(strings.TrimPrefix(pointer, "/properties/"), "/")
	vals := []any{props}
	for _, p := range parts {
		var next []any
		for _, v := range vals {
			switch x := v.(type) {
			case map[string]any:
				if p == "*" {
					for _, k := range slices.Sorted(maps.Keys(x)) {
						next = append(next, x[k])
					}
				} else if e, ok := x[p]; ok {
					next = append(next, e)
				}
			case []any:
				if p == "*" {
					next = append(next, x...)
				}
			}
		}
		vals = next
	}
	return vals
}

// moves reports whether v, as stack s resolves it, takes a new value in
// the update although its text is the same: it refers to a replaced
// resource of s, or to another stack's output or export that changes.
func (m *model) moves(s Stack, v any) bool {
	switch x := v.(type) {
	case []any:
		return slices.ContainsFunc(x, func(e any) bool { return m.moves(s, e) })
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				switch k {
				case "Ref":
					id, _ := arg.(string)
					return m.replaced[s.Name][id]
				case "Fn::GetAtt":
					id := getAttID(arg)
					if m.replaced[s.Name][id] {
						return true
					}
					if param, ok := m.readerParam(s, arg); ok {
						return m.writerParamChanges(param)
					}
					return false
				case "Fn::Sub":
					return m.subMoves(s, arg)
				case "Fn::ImportValue":
					name, _ := arg.(string)
					return m.exportChanges(s.Region, name)
				case "Fn::GetStackOutput":
					ref := stackOutputRef(arg)
					return m.changedOutputs[[2]string{ref.stack, ref.output}] || m.outputGone(ref)
				}
			}
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if m.moves(s, x[k]) {
				return true
			}
		}
	}
	return false
}

func getAttID(arg any) string {
	switch a := arg.(type) {
	case []any:
		if len(a) > 0 {
			id, _ := a[0].(string)
			return id
		}
	case string:
		id, _, _ := strings.Cut(a, ".")
		return id
	}
	return ""
}

func (m *model) subMoves(s Stack, arg any) bool {
	text, _ := arg.(string)
	var vars map[string]any
	if l, ok := arg.([]any); ok && len(l) == 2 {
		text, _ = l[0].(string)
		vars, _ = l[1].(map[string]any)
	}
	if m.moves(s, vars) {
		return true
	}
	for _, part := range strings.Split(text, "${")[1:] {
		name, _, _ := strings.Cut(part, "}")
		id, _, _ := strings.Cut(name, ".")
		if m.replaced[s.Name][id] {
			return true
		}
	}
	return false
}

// readerParam: a Fn::GetAtt on a CDK cross-region ExportsReader of s
// names the SSM parameter it reads.
func (m *model) readerParam(s Stack, arg any) (string, bool) {
	a, ok := arg.([]any)
	if !ok || len(a) != 2 {
		return "", false
	}
	typ, _, _ := resource(s.Template, getAttID(arg))
	param, _ := a[1].(string)
	return param, typ == "Custom::CrossRegionExportReader"
}

// writerExports returns, for a stack, its ExportsWriters' parameter → value.
func writerExports(t map[string]any) map[string]any {
	out := map[string]any{}
	for id := range section(t, "Resources") {
		typ, props, _ := resource(t, id)
		if typ != "Custom::CrossRegionExportWriter" {
			continue
		}
		wp, _ := props["WriterProps"].(map[string]any)
		maps.Copy(out, section(wp, "exports"))
	}
	return out
}

// writerParamChanges: the parameter's value in its writer's stack changes
// (or the writer stops writing it).
func (m *model) writerParamChanges(param string) bool {
	for name, b := range m.before {
		bv, ok := writerExports(b.Template)[param]
		if !ok {
			continue
		}
		a, ok := m.after[name]
		if !ok {
			return false // the producer stays as deployed
		}
		av, ok := writerExports(a.Template)[param]
		return !ok || !reflect.DeepEqual(bv, av) || m.moves(a, av)
	}
	return false
}

// writerParamGone: the writer's stack stops writing the parameter.
func (m *model) writerParamGone(param string) bool {
	for name, b := range m.before {
		if _, ok := writerExports(b.Template)[param]; !ok {
			continue
		}
		a, ok := m.after[name]
		if !ok {
			return false
		}
		_, ok = writerExports(a.Template)[param]
		return !ok
	}
	return false
}

// exports returns the stack's export name → output logical id.
func exports(t map[string]any) map[string]string {
	out := map[string]string{}
	for id, o := range section(t, "Outputs") {
		if e, ok := o.(map[string]any)["Export"].(map[string]any); ok {
			if name, ok := e["Name"].(string); ok {
				out[name] = id
			}
		}
	}
	return out
}

// exportChanges: the export of that name in region changes value or goes.
func (m *model) exportChanges(region, name string) bool {
	for sn, b := range m.before {
		if b.Region != region {
			continue
		}
		out, ok := exports(b.Template)[name]
		if !ok {
			continue
		}
		a, ok := m.after[sn]
		if !ok {
			return false
		}
		if exports(a.Template)[name] != out {
			return true
		}
		return m.changedOutputs[[2]string{sn, out}]
	}
	return false
}

type outputRef struct{ stack, output, region string }

func stackOutputRef(arg any) outputRef {
	a, _ := arg.(map[string]any)
	r := outputRef{}
	r.stack, _ = a["StackName"].(string)
	r.output, _ = a["OutputName"].(string)
	r.region, _ = a["Region"].(string)
	return r
}

// outputGone: a weakly referenced output that the new producer lacks.
func (m *model) outputGone(r outputRef) bool {
	a, ok := m.after[r.stack]
	if !ok {
		return false
	}
	_, ok = section(a.Template, "Outputs")[r.output]
	return !ok
}

// outputsChanged returns the outputs of a whose value the update changes.
func (m *model) outputsChanged(b, a Stack) []string {
	var out []string
	for id, bo := range section(b.Template, "Outputs") {
		ao, ok := section(a.Template, "Outputs")[id]
		bv := bo.(map[string]any)["Value"]
		if !ok {
			out = append(out, id)
			continue
		}
		av := ao.(map[string]any)["Value"]
		if !reflect.DeepEqual(bv, av) || m.moves(a, av) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// changes records stack a's resource changes, retained resources and the
// service rules' refusals.
func (m *model) changes(res *Result, b, a Stack, schemas Schemas, rules []Rule) {
	replacedWhy, _ := m.replacements(b, a, schemas) // errors were returned by Compare
	for _, id := range slices.Sorted(maps.Keys(section(b.Template, "Resources"))) {
		bt, bp, br := resource(b.Template, id)
		_, ap, ar := resource(a.Template, id)
		why, replaced := replacedWhy[id]
		switch {
		case ar == nil:
			res.Changes = append(res.Changes, Change{Stack: a.Name, LogicalID: id, Type: bt, Action: Remove})
			if p, _ := br["DeletionPolicy"].(string); slices.Contains(retainPolicies, p) {
				res.LeftBehind = append(res.LeftBehind, LeftBehind{a.Name, id, bt, "removed from the template with DeletionPolicy " + p + ": CloudFormation keeps it"})
			}
		case replaced:
			res.Changes = append(res.Changes, Change{Stack: a.Name, LogicalID: id, Type: bt, Action: Replace, Why: why})
			if p, _ := br["UpdateReplacePolicy"].(string); slices.Contains(retainPolicies, p) {
				res.LeftBehind = append(res.LeftBehind, LeftBehind{a.Name, id, bt, "replaced with UpdateReplacePolicy " + p + ": the old one is kept"})
			}
		case !reflect.DeepEqual(br, ar) || m.moves(a, ap):
			res.Changes = append(res.Changes, Change{Stack: a.Name, LogicalID: id, Type: bt, Action: Modify})
			for _, r := range rules {
				if r.Type != bt {
					continue
				}
				if p := r.Refuses(bp, ap); p != "" {
					res.Refused = append(res.Refused, Refusal{a.Name, id, p, r.Source})
				}
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(section(a.Template, "Resources"))) {
		if _, _, br := resource(b.Template, id); br == nil {
			at, _, _ := resource(a.Template, id)
			res.Changes = append(res.Changes, Change{Stack: a.Name, LogicalID: id, Type: at, Action: Add})
		}
	}
	pairLogicalIDs(res, a.Name)
}

// pairLogicalIDs turns the removal of the one resource of a type and the
// addition of the one resource of that type in a stack into a replacement
// under a new logical id: CloudFormation creates the new one, updates what
// refers to it, then deletes the old one.
func pairLogicalIDs(res *Result, stack string) {
	removed, added := map[string][]int{}, map[string][]int{}
	for i, c := range res.Changes {
		if c.Stack != stack {
			continue
		}
		switch c.Action {
		case Remove:
			removed[c.Type] = append(removed[c.Type], i)
		case Add:
			added[c.Type] = append(added[c.Type], i)
		}
	}
	drop := map[int]bool{}
	for typ, r := range removed {
		if a := added[typ]; len(r) == 1 && len(a) == 1 {
			c := &res.Changes[r[0]]
			c.Action, c.Why = Replace, "new logical ID "+res.Changes[a[0]].LogicalID
			drop[a[0]] = true
		}
	}
	kept := res.Changes[:0]
	for i, c := range res.Changes {
		if !drop[i] {
			kept = append(kept, c)
		}
	}
	res.Changes = kept
}

// crossStack refuses the references between stacks that the update breaks.
func (m *model) crossStack(res *Result) {
	names := slices.Sorted(maps.Keys(m.before))
	for _, cn := range names {
		c := m.before[cn]
		// Imports of the deployed consumer hold until it is updated, and
		// producers deploy first.
		walk(c.Template, func(k string, arg any) {
			switch k {
			case "Fn::ImportValue":
				name, _ := arg.(string)
				if m.exportChanges(c.Region, name) {
					res.Refused = append(res.Refused, Refusal{cn, "Fn::ImportValue " + name,
						"the export is imported here and the update modifies or removes it; CloudFormation refuses the producer's update", importValueURL})
				}
			case "Fn::GetAtt":
				if param, ok := m.readerParam(c, arg); ok && m.writerParamChanges(param) {
					problem := "read here through CDK's ExportsReader; the value changes but the writer keeps the old parameter, so this stack would keep the old value"
					if m.writerParamGone(param) {
						problem = "read here through CDK's ExportsReader; the writer deletes the parameter while this stack still reads it"
					}
					res.Refused = append(res.Refused, Refusal{cn, "cross-region import " + param, problem, exportWriterSrc})
				}
			case "Fn::GetStackOutput":
				ref := stackOutputRef(arg)
				a, inAfter := m.after[cn]
				stale := m.changedOutputs[[2]string{ref.stack, ref.output}] || m.outputGone(ref)
				switch {
				case !stale:
				case !inAfter:
					res.Refused = append(res.Refused, Refusal{cn, "Fn::GetStackOutput " + ref.stack + "." + ref.output,
						"the output changes and this stack is no longer synthesized: it keeps the old value", getStackOutputURL})
				case m.outputGone(ref) && refersTo(a.Template, ref):
					res.Refused = append(res.Refused, Refusal{cn, "Fn::GetStackOutput " + ref.stack + "." + ref.output,
						"the output is removed but still referenced: this stack's next update fails", getStackOutputURL})
				case reflect.DeepEqual(c.Template, a.Template):
					res.Refused = append(res.Refused, Refusal{cn, "Fn::GetStackOutput " + ref.stack + "." + ref.output,
						"the output changes but this stack's template does not, so `cdk deploy` skips it and it keeps the old value", getStackOutputURL})
				}
			}
		})
	}
	res.Refused = dedupe(res.Refused)
}

func refersTo(t map[string]any, ref outputRef) bool {
	found := false
	walk(t, func(k string, arg any) {
		if k == "Fn::GetStackOutput" && stackOutputRef(arg) == ref {
			found = true
		}
	})
	return found
}

// walk calls f for every single-key object (an intrinsic function) in v.
func walk(v any, f func(key string, arg any)) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			walk(e, f)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if len(x) == 1 {
				f(k, x[k])
			}
			walk(x[k], f)
		}
	}
}

func dedupe(rs []Refusal) []Refusal {
	seen := map[Refusal]bool{}
	var out []Refusal
	for _, r := range rs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// Decode reads a template's JSON.
func Decode(b []byte) (map[string]any, error) {
	var t map[string]any
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, err
	}
	return t, nil
}
