using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// dotnet run -c Release --project bench/CharRnn.Fast.Benchmarks -- [--smoke] [BenchmarkDotNet args, e.g. --filter *Train*]
// --smoke: every benchmark once, in process, one iteration (CI: proves they build and run; the numbers mean nothing).
bool smoke = args.Contains("--smoke");
var rest = args.Where(a => a != "--smoke").ToArray();
IConfig config = DefaultConfig.Instance.AddDiagnoser(MemoryDiagnoser.Default);
if (smoke)
    config = ManualConfig.CreateMinimumViable().AddDiagnoser(MemoryDiagnoser.Default)
        .AddJob(Job.Dry.WithToolchain(InProcessEmitToolchain.Instance).WithId("smoke"))
        .WithOptions(ConfigOptions.DisableLogFile);
if (rest.Length == 0) rest = ["--filter", "*"];
var summaries = BenchmarkSwitcher.FromAssembly(typeof(CharRnn.Fast.Benchmarks.Workload).Assembly).Run(rest, config);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
