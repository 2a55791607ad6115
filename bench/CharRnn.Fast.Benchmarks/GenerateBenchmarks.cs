using BenchmarkDotNet.Attributes;
using CharRnn.Fast.Inference;
using CharRnn.Fast.Training;

namespace CharRnn.Fast.Benchmarks;

/// <summary>Generation, batch 1: one operation = one character (fused cell, logits GEMV, temperature-1 sampling).</summary>
[MemoryDiagnoser]
public class Generate
{
    private const int Chars = 256;
    private Generator _generator = null!;
    private TensorPrimitivesTrainer _baseline = null!;
    private NaiveTrainer _naive = null!;

    [Params(64, 128, 256, 512, 1024)]
    public int Hidden { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var (vocabulary, tokens) = Workload.Corpus(10_000);
        var model = Trainer.NewModel(vocabulary, Hidden, Workload.Options(1));
        _generator = new Generator(new InferenceModel(model), seed: 1);
        _generator.Feed(0);
        _baseline = new TensorPrimitivesTrainer(vocabulary.Count, Hidden, 1, tokens);
        _naive = new NaiveTrainer(vocabulary.Count, Hidden, 1, tokens);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Chars, Description = "naive reference (double)")]
    public int Naive()
    {
        int id = 0;
        for (int i = 0; i < Chars; i++) id = _naive.GenerateNext(id);
        return id;
    }

    [Benchmark(OperationsPerInvoke = Chars, Description = "TensorPrimitives GEMV loops")]
    public int TensorPrimitives()
    {
        int id = 0;
        for (int i = 0; i < Chars; i++) id = _baseline.GenerateNext(id);
        return id;
    }

    [Benchmark(OperationsPerInvoke = Chars, Description = "CharRnn.Fast")]
    public int Engine()
    {
        int id = 0;
        var options = new SamplingOptions();
        for (int i = 0; i < Chars; i++) id = _generator.Next(options);
        return id;
    }
}
