using BenchmarkDotNet.Attributes;
using CharRnn.Fast.Training;

namespace CharRnn.Fast.Benchmarks;

/// <summary>
/// One full training step (forward, backward, clip, Adam) of T = 25 characters × B streams. Each operation is one
/// character (OperationsPerInvoke = T·B), so Mean is time per character and 1/Mean is chars/s. The baseline is the
/// naive reference; the engine's Allocated must read 0 B.
/// </summary>
[MemoryDiagnoser]
public abstract class TrainStepBenchmarks
{
    private Trainer _trainer = null!;
    private TensorPrimitivesTrainer _baseline = null!;
    private NaiveTrainer _naive = null!;

    [Params(64, 128, 256, 512, 1024)]
    public int Hidden { get; set; }

    protected abstract int Batch { get; }

    [GlobalSetup]
    public void Setup()
    {
        var (vocabulary, tokens) = Workload.Corpus();
        var options = Workload.Options(Batch);
        _trainer = new Trainer(Trainer.NewModel(vocabulary, Hidden, options), tokens, options);
        _baseline = new TensorPrimitivesTrainer(vocabulary.Count, Hidden, Batch, tokens);
        _naive = new NaiveTrainer(vocabulary.Count, Hidden, Batch, tokens);
        _trainer.TrainStep();
        _baseline.TrainStep();
    }

    [GlobalCleanup]
    public void Cleanup() => _trainer.Dispose();

    protected double NaiveStep() => _naive.TrainStep();
    protected double BaselineStep() => _baseline.TrainStep();
    protected double EngineStep() => _trainer.TrainStep();
}

public class TrainBatch1 : TrainStepBenchmarks
{
    private const int Chars = Workload.SequenceLength;
    protected override int Batch => 1;

    [Benchmark(Baseline = true, OperationsPerInvoke = Chars, Description = "naive reference (double)")]
    public double Naive() => NaiveStep();

    [Benchmark(OperationsPerInvoke = Chars, Description = "TensorPrimitives per-step loops")]
    public double TensorPrimitives() => BaselineStep();

    [Benchmark(OperationsPerInvoke = Chars, Description = "CharRnn.Fast")]
    public double Engine() => EngineStep();
}

public class TrainBatch32 : TrainStepBenchmarks
{
    private const int Chars = Workload.SequenceLength * 32;
    protected override int Batch => 32;

    [Benchmark(Baseline = true, OperationsPerInvoke = Chars, Description = "naive reference (double)")]
    public double Naive() => NaiveStep();

    [Benchmark(OperationsPerInvoke = Chars, Description = "TensorPrimitives per-step loops")]
    public double TensorPrimitives() => BaselineStep();

    [Benchmark(OperationsPerInvoke = Chars, Description = "CharRnn.Fast")]
    public double Engine() => EngineStep();
}

/// <summary>The engine's training step on every kernel policy this CPU runs (per character, as above).</summary>
[MemoryDiagnoser]
public class TrainStepPolicies : PerPolicy
{
    private Trainer _trainer = null!;

    [Params(128, 512)]
    public int Hidden { get; set; }

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var (vocabulary, tokens) = Workload.Corpus();
        var options = Workload.Options(Batch);
        _trainer = new Trainer(Trainer.NewModel(vocabulary, Hidden, options), tokens, options, policy: SelectedPolicy);
        _trainer.TrainStep();
    }

    [GlobalCleanup]
    public void Cleanup() => _trainer.Dispose();

    /// <summary>One step; divide Mean by T·B for time per character.</summary>
    [Benchmark(Description = "CharRnn.Fast step")]
    public double Step() => _trainer.TrainStep();
}
