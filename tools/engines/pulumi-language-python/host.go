package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// The exec script exits with this code after it has already shown the user an actionable message.
const exitAfterUserMessage = 32

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	exec       string
	engineAddr string
	virtualenv string // -virtualenv flag
	root       string // -root flag
}

// interpreter picks the Python that runs programs: the `virtualenv` runtime option (relative to the project
// root), then the -virtualenv flag, then PULUMI_PYTHON_CMD, then python3/python on PATH. It also returns the
// environment additions that make a virtualenv active for child processes.
func (h *languageHost) interpreter(root string, opts *structpb.Struct) (string, []string, error) {
	venv := ""
	if v, ok := opts.GetFields()["virtualenv"]; ok && v.GetStringValue() != "" {
		venv = v.GetStringValue()
	} else if h.virtualenv != "" {
		venv = h.virtualenv
		if h.root != "" {
			root = h.root
		}
	}
	if venv != "" {
		if !filepath.IsAbs(venv) {
			venv = filepath.Join(root, venv)
		}
		py := filepath.Join(venv, "bin", "python")
		if _, err := os.Stat(py); err != nil {
			return "", nil, fmt.Errorf("virtualenv %s has no bin/python: create it and install the "+
				"program's requirements: %w", venv, err)
		}
		env := []string{
			"VIRTUAL_ENV=" + venv,
			"PATH=" + filepath.Join(venv, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
		}
		return py, env, nil
	}
	if cmd := os.Getenv("PULUMI_PYTHON_CMD"); cmd != "" {
		return cmd, nil, nil
	}
	for _, name := range []string{"python3", "python"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil, nil
		}
	}
	return "", nil, errNoPython
}

func rootOf(info *pulumirpc.ProgramInfo, fallback string) string {
	if r := info.GetRootDirectory(); r != "" {
		return r
	}
	return fallback
}

func (h *languageHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddr = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *languageHost) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	plugins, err := h.requiredPlugins(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	for _, p := range plugins {
		resp.Packages = append(resp.Packages, &pulumirpc.PackageDependency{
			Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server,
		})
	}
	return resp, nil
}

func (h *languageHost) GetRequiredPlugins(
	ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	plugins, err := h.requiredPlugins(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// listPlugins prints, as JSON, the resource plugin that each installed distribution declares in a
// pulumi-plugin.json (or the older pulumiplugin.json) inside one of its top-level packages.
const listPlugins = `
import importlib.metadata as md, json, os, sys
out = []
for dist in md.distributions():
    for f in dist.files or []:
        parts = f.parts
        if len(parts) == 2 and parts[1] in ("pulumi-plugin.json", "pulumiplugin.json"):
            try:
                meta = json.loads(f.read_text())
            except Exception:
                continue
            if meta.get("resource"):
                out.append({"name": meta.get("name") or dist.metadata["Name"].removeprefix("pulumi-"),
                            "version": meta.get("version") or dist.version,
                            "server": meta.get("server", "")})
json.dump(out, sys.stdout)
`

func (h *languageHost) requiredPlugins(
	ctx context.Context, info *pulumirpc.ProgramInfo,
) ([]*pulumirpc.PluginDependency, error) {
	root := rootOf(info, ".")
	py, env, err := h.interpreter(root, info.GetOptions())
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, py, "-c", listPlugins)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the installed Pulumi packages with %s: %w: %s", py, err, stderr.String())
	}
	var found []struct{ Name, Version, Server string }
	if err := json.Unmarshal(out, &found); err != nil {
		return nil, fmt.Errorf("reading the installed Pulumi packages: %w", err)
	}
	plugins := make([]*pulumirpc.PluginDependency, 0, len(found))
	for _, p := range found {
		v := p.Version
		if v != "" && !strings.HasPrefix(v, "v") {
			v = "v" + v
		}
		plugins = append(plugins, &pulumirpc.PluginDependency{Name: p.Name, Kind: "resource", Version: v, Server: p.Server})
	}
	return plugins, nil
}

// Run starts the real exec script from the Pulumi Python SDK with the engine's arguments and waits for it.
func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	py, env, err := h.interpreter(rootOf(info, req.GetPwd()), info.GetOptions())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	args := []string{"-u", h.exec,
		"--monitor", req.GetMonitorAddress(),
		"--engine", h.engineAddr,
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--pwd", req.GetPwd(),
		"--parallel", strconv.Itoa(int(req.GetParallel())),
		"--organization", req.GetOrganization(),
	}
	if r := info.GetRootDirectory(); r != "" {
		args = append(args, "--root_directory", r)
	}
	if req.GetDryRun() {
		args = append(args, "--dry_run", "true")
	}
	program := req.GetProgram()
	if info.GetProgramDirectory() != "" {
		program = filepath.Join(info.GetProgramDirectory(), info.GetEntryPoint())
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	cfg := req.GetConfig()
	if cfg == nil {
		cfg = map[string]string{} // the SDK expects a JSON object, never null
	}
	config, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	keys, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, py, args...)
	cmd.Dir = req.GetPwd()
	// Config travels in the environment (never argv), as the Python SDK expects.
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(keys))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitAfterUserMessage:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d",
			exitErr.ExitCode())}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start %s: %v", py, err)}, nil
	}
}

// RunPlugin runs a plugin written in Python (for example a policy pack: the engine starts it through the
// language host) and streams its output back.
func (h *languageHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, srv grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	info := req.GetInfo()
	dir := info.GetProgramDirectory()
	if dir == "" {
		dir = req.GetProgram()
	}
	py, env, err := h.interpreter(rootOf(info, dir), info.GetOptions())
	if err != nil {
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	entry := dir
	if ep := info.GetEntryPoint(); ep != "" && ep != "." {
		entry = filepath.Join(dir, ep)
	}
	cmd := exec.CommandContext(srv.Context(), py, append([]string{"-u", entry}, req.GetArgs()...)...)
	cmd.Dir = req.GetPwd()
	cmd.Env = append(append(req.GetEnv(), env...), "PYTHONUNBUFFERED=1")
	if len(req.GetEnv()) == 0 {
		cmd.Env = append(os.Environ(), cmd.Env...)
	}
	var mu sync.Mutex
	send := func(r *pulumirpc.RunPluginResponse) error {
		mu.Lock()
		defer mu.Unlock()
		return srv.Send(r)
	}
	cmd.Stdout = streamWriter(func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}})
	})
	cmd.Stderr = streamWriter(func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}})
	})
	code := int32(0)
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return status.Errorf(codes.Internal, "could not start %s: %v", py, err)
		}
		code = int32(exitErr.ExitCode())
	}
	return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
}

type streamWriter func([]byte) error

func (w streamWriter) Write(p []byte) (int, error) {
	b := append([]byte(nil), p...) // the caller reuses p
	if err := w(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

var _ io.Writer = streamWriter(nil)

// InstallDependencies creates the `virtualenv` of a program (or plugin) that asks for one and installs its
// requirements.txt into it; without that option there is nothing to do (the caller's Python is used as is).
func (h *languageHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, srv grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	info := req.GetInfo()
	root := rootOf(info, req.GetDirectory())
	v, ok := info.GetOptions().GetFields()["virtualenv"]
	if !ok || v.GetStringValue() == "" {
		return nil
	}
	venv := v.GetStringValue()
	if !filepath.IsAbs(venv) {
		venv = filepath.Join(root, venv)
	}
	out := streamWriter(func(b []byte) error {
		return srv.Send(&pulumirpc.InstallDependenciesResponse{Stdout: b})
	})
	errOut := streamWriter(func(b []byte) error {
		return srv.Send(&pulumirpc.InstallDependenciesResponse{Stderr: b})
	})
	steps := [][]string{}
	if _, err := os.Stat(filepath.Join(venv, "bin", "python")); err != nil {
		base := os.Getenv("PULUMI_PYTHON_CMD")
		if base == "" {
			base = "python3"
		}
		steps = append(steps, []string{base, "-m", "venv", venv})
	}
	if _, err := os.Stat(filepath.Join(root, "requirements.txt")); err == nil {
		steps = append(steps, []string{filepath.Join(venv, "bin", "python"), "-m", "pip", "install", "-r",
			filepath.Join(root, "requirements.txt")})
	}
	for _, step := range steps {
		cmd := exec.CommandContext(srv.Context(), step[0], step[1:]...)
		cmd.Dir = root
		cmd.Stdout, cmd.Stderr = out, errOut
		if err := cmd.Run(); err != nil {
			return status.Errorf(codes.Internal, "%s: %v", strings.Join(step, " "), err)
		}
	}
	return nil
}

func (h *languageHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	py, env, err := h.interpreter(rootOf(req.GetInfo(), "."), req.GetInfo().GetOptions())
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, py, "-c", "import sys; print(sys.version.split()[0])")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", py, err)
	}
	return &pulumirpc.AboutResponse{Executable: py, Version: strings.TrimSpace(string(out))}, nil
}
