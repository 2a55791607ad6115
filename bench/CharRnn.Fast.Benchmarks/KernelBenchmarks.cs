using BenchmarkDotNet.Attributes;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Training;
using System.Numerics.Tensors;

namespace CharRnn.Fast.Benchmarks;

/// <summary>
/// The kernels at the shapes of one B = 32, T = 25 step, each against a TensorPrimitives composition: GEMV
/// (generation), the recurrence GEMM with the fused tanh cell, the logits GEMM, the weight-gradient GEMM (K = T·B),
/// softmax-cross-entropy over T·B rows, and Adam over the parameter block.
/// </summary>
[MemoryDiagnoser]
public class Kernels
{
    private const int B = 32, V = Workload.Vocabulary, Positions = Workload.SequenceLength * B;
    private float[] _w = null!, _h = null!, _out = null!, _hs = null!, _logits = null!, _logitsWork = null!, _dWhh = null!, _draw = null!;
    private float[] _p = null!, _g = null!, _m = null!, _s = null!;
    private int[] _targets = null!;

    [Params(128, 512)]
    public int Hidden { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(2);
        float[] R(int n) { var x = new float[n]; for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() - 0.5); return x; }
        _w = R(Hidden * Hidden); _h = R(B * Hidden); _out = R(B * Hidden);
        _hs = R(Positions * Hidden); _logits = R(Positions * V); _logitsWork = new float[Positions * V];
        _dWhh = R(Hidden * Hidden); _draw = R(Positions * Hidden);
        int n = Hidden * (2 * V + Hidden + 1) + V;
        _p = R(n); _g = R(n); _m = new float[n]; _s = new float[n];
        _targets = Enumerable.Range(0, Positions).Select(_ => rng.Next(V)).ToArray();
    }

    [Benchmark(Description = "GEMV y=h·Wᵀ [H,H] (generation)")]
    public void Gemv() => Gemm.Multiply(_out.AsSpan(0, Hidden), _h.AsSpan(0, Hidden), _w, 1, Hidden, Hidden);

    [Benchmark(Description = "GEMV, TensorPrimitives.Dot per row")]
    public void GemvTensorPrimitives()
    {
        for (int i = 0; i < Hidden; i++) _out[i] = TensorPrimitives.Dot<float>(_w.AsSpan(i * Hidden, Hidden), _h.AsSpan(0, Hidden));
    }

    [Benchmark(Description = "tanh cell [B,H]·[H,H] fused")]
    public void TanhCell() => Gemm.Run<TanhEpilogue>(_out, _out, _h, Hidden, 1, _w, default, B, Hidden, Hidden);

    [Benchmark(Description = "logits GEMM [T·B,H]·[H,V]")]
    public void Logits() => Gemm.Multiply(_logitsWork, _hs, _w.AsSpan(0, Hidden * V), Positions, Hidden, V);

    [Benchmark(Description = "dWhh += drawᵀ·h (K = T·B)")]
    public void WeightGradient() => Gemm.MultiplyTransposedAAdd(_dWhh, _draw, _hs, Hidden, Positions, Hidden);

    [Benchmark(Description = "softmax-cross-entropy [T·B,V]")]
    public double SoftmaxCrossEntropy()
    {
        _logits.CopyTo(_logitsWork, 0);
        return Softmax.CrossEntropyWithGradient(_logitsWork, _targets, V, 1f / B);
    }

    [Benchmark(Description = "softmax, TensorPrimitives.SoftMax per row")]
    public void SoftmaxTensorPrimitives()
    {
        for (int r = 0; r < Positions; r++) TensorPrimitives.SoftMax<float>(_logits.AsSpan(r * V, V), _logitsWork.AsSpan(r * V, V));
    }

    [Benchmark(Description = "Adam over the parameter block")]
    public void Adam() => Elementwise.Apply(new AdamOperator(1e-3, 0.9, 0.999, 1e-8, 10), _p, _g, _m, _s);
}
