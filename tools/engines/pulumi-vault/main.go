// Command pulumi-resource-vault is THIS PROJECT'S OWN TEST PROVIDER for the `vault` package: it is not the
// upstream pulumi-vault provider.
//
// Why: the upstream provider (github.com/pulumi/pulumi-vault/provider/v7, v6, v5, ...) and the Terraform
// provider it bridges (github.com/hashicorp/terraform-provider-vault at any recent version or commit) are
// refused by the Go module proxy here, so the real one cannot be built. This provider serves the resource
// tokens of the Python SDK pulumi-vault 7.14.0 that this project's components use (see kinds.go), with the
// same property names, against a real Vault server through its HTTP API. It reports itself as 7.14.0 so the
// engine uses it for the SDK's resources instead of trying to download that version.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

var version = "7.14.0" // pulumi-vault in requirements.txt; set by build.sh

// unknown is how the engine encodes a value not known during preview.
const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

type provider struct {
	pulumirpc.UnimplementedResourceProviderServer
	mu     sync.Mutex
	client *client
}

func main() {
	p := &provider{}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, p)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-vault: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-vault: %v\n", err)
		os.Exit(1)
	}
}

func (p *provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (p *provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	res := map[string]any{}
	for _, t := range tokens() {
		res[t] = map[string]any{"description": "served by the vaultconf test provider"}
	}
	b, err := json.Marshal(map[string]any{"name": "vault", "version": version, "resources": res})
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetSchemaResponse{Schema: string(b)}, nil
}

func (p *provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *provider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, news := req.GetOldInputs().AsMap(), req.GetNews().AsMap()
	var diffs []string
	for _, k := range []string{"address", "token"} {
		if !reflect.DeepEqual(olds[k], news[k]) {
			diffs = append(diffs, k)
		}
	}
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if len(diffs) > 0 {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{Changes: changes, Diffs: diffs}, nil
}

// Configure takes the address and token from the provider's inputs, else from VAULT_ADDR / VAULT_TOKEN.
// The token is used as given (no child token is created, unlike the upstream provider).
func (p *provider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	args := req.GetArgs().AsMap()
	get := func(key, env string) string {
		if v, ok := args[key].(string); ok && v != "" && v != unknown {
			return v
		}
		if v := req.GetVariables()["vault:config:"+key]; v != "" {
			return v
		}
		return os.Getenv(env)
	}
	addr, token := get("address", "VAULT_ADDR"), get("token", "VAULT_TOKEN")
	p.mu.Lock()
	defer p.mu.Unlock()
	if addr != "" {
		p.client = newClient(addr, token)
	}
	return &pulumirpc.ConfigureResponse{AcceptSecrets: false, SupportsPreview: true}, nil
}

func (p *provider) vault() (*client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client == nil {
		return nil, status.Error(codes.FailedPrecondition,
			"vault provider: no Vault address: set the provider's `address` (or VAULT_ADDR) and `token`")
	}
	return p.client, nil
}

func kindOf(token string) (*kind, error) {
	k, ok := kinds[token]
	if !ok {
		return nil, status.Errorf(codes.Unimplemented, "the vaultconf test provider does not serve %s; it serves: %s",
			token, strings.Join(tokens(), ", "))
	}
	return k, nil
}

func typeOf(urn string) string {
	// urn:pulumi:stack::project::parent$type::name — the resource's own type is the last $-separated part.
	parts := strings.Split(urn, "::")
	if len(parts) < 4 {
		return ""
	}
	types := strings.Split(parts[2], "$")
	return types[len(types)-1]
}

func toStruct(m props) (*structpb.Struct, error) {
	clean := map[string]any{}
	for k, v := range m {
		if v != nil {
			clean[k] = normalize(v)
		}
	}
	return structpb.NewStruct(clean)
}

// normalize turns typed slices/maps from JSON decoding into what structpb accepts.
func normalize(v any) any {
	switch t := v.(type) {
	case []string:
		out := make([]any, len(t))
		for i, s := range t {
			out[i] = s
		}
		return out
	case []any:
		for i := range t {
			t[i] = normalize(t[i])
		}
		return t
	case map[string]any:
		for k := range t {
			t[k] = normalize(t[k])
		}
		return t
	case json.Number:
		f, _ := t.Float64()
		return f
	}
	return v
}

func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	k, err := kindOf(typeOf(req.GetUrn()))
	if err != nil {
		return nil, err
	}
	news := req.GetNews().AsMap()
	for key, def := range k.defaults {
		if _, ok := news[key]; !ok {
			news[key] = def
		}
	}
	inputs, err := toStruct(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs}, nil
}

// diffKeys lists the inputs that differ as the upstream provider compares them (fields.go), leaving out
// write-only inputs (sent again only when their version input changes, itself a difference) and
// Optional+Computed inputs the program leaves out.
func diffKeys(k *kind, olds, news props) []string {
	keys := map[string]bool{}
	for key := range olds {
		keys[key] = true
	}
	for key := range news {
		keys[key] = true
	}
	var out []string
	for key := range keys {
		if _, wo := k.writeOnly[key]; wo {
			continue
		}
		if f, ok := k.fields[key]; ok && f.computed && news[key] == nil {
			continue
		}
		if !k.equal(key, olds[key], news[key]) {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}

func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	k, err := kindOf(typeOf(req.GetUrn()))
	if err != nil {
		return nil, err
	}
	olds := req.GetOldInputs().AsMap()
	if len(olds) == 0 {
		olds = req.GetOlds().AsMap()
	}
	diffs := diffKeys(k, olds, req.GetNews().AsMap())
	ignored := map[string]bool{}
	for _, key := range req.GetIgnoreChanges() {
		ignored[key] = true
	}
	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true,
		DetailedDiff: map[string]*pulumirpc.PropertyDiff{}}
	for _, key := range diffs {
		if ignored[key] {
			continue
		}
		kind := pulumirpc.PropertyDiff_UPDATE
		for _, r := range k.replaceOn {
			if r == "*" || r == key {
				kind = pulumirpc.PropertyDiff_UPDATE_REPLACE
				resp.Replaces = append(resp.Replaces, key)
			}
		}
		resp.Diffs = append(resp.Diffs, key)
		resp.DetailedDiff[key] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	resp.DeleteBeforeReplace = len(resp.Replaces) > 0
	return resp, nil
}

// state is what the engine stores as outputs: the inputs without write-only values, plus computed outputs.
func state(k *kind, in, computed props) (*structpb.Struct, error) {
	out := props{}
	for key, v := range in {
		if _, wo := k.writeOnly[key]; !wo {
			out[key] = v
		}
	}
	for key, v := range computed {
		out[key] = v
	}
	return toStruct(out)
}

func (p *provider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	k, err := kindOf(typeOf(req.GetUrn()))
	if err != nil {
		return nil, err
	}
	in := req.GetProperties().AsMap()
	if req.GetPreview() {
		st, err := state(k, in, nil)
		return &pulumirpc.CreateResponse{Properties: st}, err
	}
	c, err := p.vault()
	if err != nil {
		return nil, err
	}
	var computed props
	if k.create != nil {
		computed, err = k.create(c, in)
	} else {
		err = k.writeWithSecrets(c, in, true)
	}
	if err != nil {
		return nil, err
	}
	st, err := state(k, in, computed)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: k.idOf(in), Properties: st}, nil
}

func (p *provider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	k, err := kindOf(typeOf(req.GetUrn()))
	if err != nil {
		return nil, err
	}
	olds, news := req.GetOlds().AsMap(), req.GetNews().AsMap()
	if req.GetPreview() {
		st, err := state(k, news, nil)
		return &pulumirpc.UpdateResponse{Properties: st}, err
	}
	c, err := p.vault()
	if err != nil {
		return nil, err
	}
	computed := props{}
	for key, v := range olds { // keep computed outputs the update does not recompute
		if _, isInput := news[key]; !isInput {
			computed[key] = v
		}
	}
	var fresh props
	switch {
	case k.update != nil:
		fresh, err = k.update(c, olds, news)
	case k.create != nil:
		fresh, err = k.create(c, news)
	default:
		oldIn := req.GetOldInputs().AsMap()
		resend := false
		for _, version := range k.writeOnly {
			if !reflect.DeepEqual(oldIn[version], news[version]) {
				resend = true
			}
		}
		err = k.writeWithSecrets(c, news, resend)
	}
	if err != nil {
		return nil, err
	}
	for key, v := range fresh {
		computed[key] = v
	}
	st, err := state(k, news, computed)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: st}, nil
}

// Read refreshes and imports: it returns the LIVE object's inputs (declared per kind in ids.go), so a hand
// edit shows as a diff against the program and `up` restores it; an object gone from Vault is reported gone
// (empty ID). With no inputs and no state it is an import: the inputs come from the upstream ID format.
func (p *provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	k, err := kindOf(typeOf(req.GetUrn()))
	if err != nil {
		return nil, err
	}
	c, err := p.vault()
	if err != nil {
		return nil, err
	}
	in := req.GetInputs().AsMap()
	olds := req.GetProperties().AsMap()
	if len(in) == 0 {
		in = olds
	}
	if len(in) == 0 { // import
		if k.fromID == nil {
			return nil, status.Errorf(codes.InvalidArgument, "%s cannot be imported (the upstream provider has "+
				"no importer for it either)", typeOf(req.GetUrn()))
		}
		if in, err = k.fromID(req.GetId()); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		for key, def := range k.defaults {
			if _, ok := in[key]; !ok {
				in[key] = def
			}
		}
	}
	live, err := k.live(c, in)
	if err != nil {
		return nil, err
	}
	if live == nil {
		return &pulumirpc.ReadResponse{}, nil
	}
	inputs, computed := props{}, props{}
	for key, v := range in {
		inputs[key] = v
	}
	for key, v := range olds {
		if _, isInput := in[key]; !isInput {
			computed[key] = v
		}
	}
	for key, v := range live {
		if _, declared := k.fields[key]; declared {
			inputs[key] = v
		} else {
			computed[key] = v
		}
	}
	id := req.GetId()
	if id == "" {
		id = k.idOf(inputs)
	}
	st, err := state(k, inputs, computed)
	if err != nil {
		return nil, err
	}
	ins, err := toStruct(inputs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: id, Properties: st, Inputs: ins}, nil
}

func (p *provider) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	k, err := kindOf(typeOf(req.GetUrn()))
	if err != nil {
		return nil, err
	}
	c, err := p.vault()
	if err != nil {
		return nil, err
	}
	in := req.GetProperties().AsMap()
	for key, v := range req.GetOldInputs().AsMap() {
		if _, ok := in[key]; !ok {
			in[key] = v
		}
	}
	switch {
	case k.remove != nil:
		err = k.remove(c, in)
	case k.noDelete:
	default:
		err = c.del(k.path(in))
	}
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (p *provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
