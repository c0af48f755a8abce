package main

// What an AMP workspace encrypted with the stack's customer managed key
// (cdk.json prometheus.customerManagedKey) needs from that key, pinned on
// the shipped templates. Source: AMP user guide, "Encryption at rest"
// (https://docs.aws.amazon.com/prometheus/latest/userguide/encryption-at-rest-Amazon-Service-Prometheus.html).

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPrometheusKeyPolicy: "Step 1: Create a customer managed key", key
// policy: the key policy must permit kms:CreateGrant (AMP creates three
// grants, on behalf of whoever creates the workspace: here CloudFormation
// with the deployer's credentials) and kms:DescribeKey (AMP validates the
// key); the page's statement also allows kms:GenerateDataKey and
// kms:Decrypt, to principal AWS "*" with kms:ViaService
// aps.<region>.amazonaws.com and kms:CallerAccount the account. The region
// is the workspace's: prod's us-east-1 ingest stack writes to the
// eu-west-1 workspace, and AMP calls KMS where the workspace is. A key
// that encrypts no workspace gets no such statement.
func TestPrometheusKeyPolicy(t *testing.T) {
	wantActions := []string{"kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"}
	for _, name := range shipped {
		t.Run(name, func(t *testing.T) {
			s := synth(t, name)
			raw := s.raw[*s.stacks.Workspace.StackName()]
			_, key := only(t, raw, "AWS::KMS::Key", "")
			var viaAMP []obj
			for _, st := range props(key)["KeyPolicy"].(obj)["Statement"].([]any) {
				st := st.(obj)
				if st["Effect"] == "Allow" && asJSON(st["Principal"]) == `{"AWS":"*"}` {
					viaAMP = append(viaAMP, st)
				}
			}
			if !s.env.Prometheus.CustomerManagedKey {
				if len(viaAMP) != 0 {
					t.Errorf("workspace with an AWS owned key, yet the stack key allows %s", asJSON(viaAMP))
				}
				return
			}
			if len(viaAMP) != 1 {
				t.Fatalf("%d key policy statements for any principal, want AMP's one: %s", len(viaAMP), asJSON(viaAMP))
			}
			st := viaAMP[0]
			got := actions(st)
			slices.Sort(got)
			if !slices.Equal(got, wantActions) {
				t.Errorf("AMP key statement actions %v, want %v", got, wantActions)
			}
			if st["Resource"] != "*" {
				t.Errorf("AMP key statement resource %v, want * (this key)", st["Resource"])
			}
			wantCond := obj{"StringEquals": obj{
				"kms:ViaService":    "aps." + s.env.Region + ".amazonaws.com",
				"kms:CallerAccount": obj{"Ref": "AWS::AccountId"},
			}}
			if asJSON(st["Condition"]) != asJSON(wantCond) {
				t.Errorf("AMP key statement condition %s, want %s", asJSON(st["Condition"]), asJSON(wantCond))
			}
		})
	}
}

// TestPrometheusGrantsPassCreateGrantDeny: AMP's CreateGrant requests are
// made for the caller's identity by the service ("Monitoring your
// encryption keys", CreateGrant: userIdentity the caller's assumed role,
// invokedBy aps.amazonaws.com; "the grants that AMP creates are specific to
// the resource"), which KMS marks kms:GrantIsForAWSResource true (KMS
// developer guide, condition keys: true when an AWS service integrated with
// AWS KMS calls the operation on the user's behalf); aws:PrincipalIsAWSService
// is false, the principal being the caller. The CT.KMS.PR.3 deny on every
// stack key must let that request through and still stop a principal's own
// CreateGrant. The deny's condition is evaluated here as IAM does
// BoolIfExists: it holds when every key is absent or equal.
func TestPrometheusGrantsPassCreateGrantDeny(t *testing.T) {
	for _, name := range shipped {
		s := synth(t, name)
		if !s.env.Prometheus.CustomerManagedKey {
			continue
		}
		raw := s.raw[*s.stacks.Workspace.StackName()]
		_, key := only(t, raw, "AWS::KMS::Key", "")
		denies := 0
		for _, st := range props(key)["KeyPolicy"].(obj)["Statement"].([]any) {
			st := st.(obj)
			if st["Effect"] != "Deny" || !slices.Contains(actions(st), "kms:CreateGrant") {
				continue
			}
			denies++
			amp := map[string]string{"kms:GrantIsForAWSResource": "true", "aws:PrincipalIsAWSService": "false"}
			direct := map[string]string{"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
			if boolIfExistsHolds(t, st["Condition"], amp) {
				t.Errorf("%s: the deny %s stops AMP's own grants: the workspace cannot be created", name, asJSON(st))
			}
			if !boolIfExistsHolds(t, st["Condition"], direct) {
				t.Errorf("%s: the deny %s lets a principal create grants directly", name, asJSON(st))
			}
		}
		if denies == 0 {
			t.Errorf("%s: no CreateGrant deny on the workspace key", name)
		}
	}
}

// boolIfExistsHolds evaluates a condition block made only of BoolIfExists
// against the request's context keys.
func boolIfExistsHolds(t *testing.T, cond any, ctx map[string]string) bool {
	t.Helper()
	c, _ := cond.(obj)
	b, ok := c["BoolIfExists"].(obj)
	if !ok || len(c) != 1 {
		t.Fatalf("condition %s: only BoolIfExists is evaluated here", asJSON(cond))
	}
	for k, v := range b {
		if got, present := ctx[k]; present && got != v {
			return false
		}
	}
	return true
}

// TestPrometheusLogGroupKey: the workspace's vended logs go to a
// CloudWatch Logs log group encrypted with the same key. For a CloudWatch
// Logs destination the delivery needs only the log group's resource policy
// (CloudWatch Logs user guide, "Enabling logging from AWS services", logs
// sent to CloudWatch Logs; a key policy statement for
// delivery.logs.amazonaws.com is required only for SSE-KMS S3
// destinations); the encryption itself is CloudWatch Logs', which uses the
// key only if the key policy lets logs.<region>.amazonaws.com use it with
// the encryption context aws:logs:arn = the log group's ARN ("Encrypt log
// data in CloudWatch Logs using AWS KMS", step 2). So the stack key's
// CloudWatch Logs statement must match /aws/vendedlogs/prometheus/<alias>.
func TestPrometheusLogGroupKey(t *testing.T) {
	const partition, account = "aws", "123456789012"
	for _, name := range shipped {
		s := synth(t, name)
		raw := s.raw[*s.stacks.Workspace.StackName()]
		keyID, key := only(t, raw, "AWS::KMS::Key", "")
		_, lg := only(t, raw, "AWS::Logs::LogGroup", "Prometheus")
		lgName, _ := props(lg)["LogGroupName"].(string)
		if !strings.HasPrefix(lgName, "/aws/vendedlogs/prometheus/") {
			t.Errorf("%s: AMP log group %q", name, lgName)
		}
		if asJSON(props(lg)["KmsKeyId"]) != asJSON(obj{"Fn::GetAtt": []any{keyID, "Arn"}}) {
			t.Errorf("%s: AMP log group key %s, want the stack key", name, asJSON(props(lg)["KmsKeyId"]))
		}
		context := "arn:" + partition + ":logs:" + s.env.Region + ":" + account + ":log-group:" + lgName
		matched := false
		for _, st := range props(key)["KeyPolicy"].(obj)["Statement"].([]any) {
			st := st.(obj)
			if st["Effect"] != "Allow" || asJSON(st["Principal"]) != `{"Service":"logs.`+s.env.Region+`.amazonaws.com"}` {
				continue
			}
			if !slices.Contains(actions(st), "kms:GenerateDataKey*") || !slices.Contains(actions(st), "kms:Decrypt*") {
				continue
			}
			like, _ := asMap(st["Condition"])["ArnLike"].(obj)
			pattern := renderJoin(t, like["kms:EncryptionContext:aws:logs:arn"], map[string]string{"AWS::Partition": partition, "AWS::AccountId": account})
			if arnLike(pattern, context) {
				matched = true
			}
		}
		if !matched {
			t.Errorf("%s: no CloudWatch Logs statement on the key matches the encryption context %s", name, context)
		}
	}
}

// renderJoin renders a string or an Fn::Join of strings and Refs, with refs
// given values.
func renderJoin(t *testing.T, v any, refs map[string]string) string {
	t.Helper()
	if s, ok := v.(string); ok {
		return s
	}
	join, ok := asMap(v)["Fn::Join"].([]any)
	if !ok || join[0] != "" {
		t.Fatalf("not a plain Fn::Join: %s", asJSON(v))
	}
	var b strings.Builder
	for _, part := range join[1].([]any) {
		switch p := part.(type) {
		case string:
			b.WriteString(p)
		case obj:
			r, ok := refs[p["Ref"].(string)]
			if !ok {
				t.Fatalf("unexpected part %s", asJSON(p))
			}
			b.WriteString(r)
		}
	}
	return b.String()
}

// arnLike is IAM's ArnLike on a whole ARN: * any run of characters, ? one.
func arnLike(pattern, arn string) bool {
	re := regexp.QuoteMeta(pattern)
	re = strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(re)
	return regexp.MustCompile("^" + re + "$").MatchString(arn)
}
