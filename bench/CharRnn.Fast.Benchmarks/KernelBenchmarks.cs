using BenchmarkDotNet.Attributes;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Training;
using System.Numerics.Tensors;

namespace CharRnn.Fast.Benchmarks;

/// <summary>
/// The kernels at the shapes of one B = 32, T = 25 step, each beside its naive form (plain float loops, as the
/// reference writes them) and, where one exists, a TensorPrimitives composition: GEMV (generation) and transposed
/// GEMV (backward, dnext = draw·Whh), the recurrence GEMM with the fused tanh cell, the logits GEMM, the
/// weight-gradient GEMM (K = T·B), softmax-cross-entropy over T·B rows, and Adam over the parameter block.
/// </summary>
[MemoryDiagnoser]
public class Kernels : PerPolicy
{
    private const int B = 32, V = Workload.Vocabulary, Positions = Workload.SequenceLength * B;
    private float[] _w = null!, _h = null!, _out = null!, _hs = null!, _logits = null!, _logitsWork = null!, _dWhh = null!, _draw = null!;
    private float[] _p = null!, _g = null!, _m = null!, _s = null!;
    private int[] _targets = null!;

    private KernelPolicy _policy = null!;

    [Params(128, 512)]
    public int Hidden { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _policy = SelectedPolicy;
        var rng = new Random(2);
        float[] R(int n) => Uniform(rng, n);
        _w = R(Hidden * Hidden); _h = R(B * Hidden); _out = R(B * Hidden);
        _hs = R(Positions * Hidden); _logits = R(Positions * V); _logitsWork = new float[Positions * V];
        _dWhh = R(Hidden * Hidden); _draw = R(Positions * Hidden);
        int n = Hidden * (2 * V + Hidden + 1) + V;
        _p = R(n); _g = R(n); _m = new float[n]; _s = new float[n];
        _targets = Enumerable.Range(0, Positions).Select(_ => rng.Next(V)).ToArray();
    }

    [Benchmark(Description = "GEMV y=h·Wᵀ [H,H] (generation)")]
    public void Gemv() => Gemm.Multiply(_policy, _out.AsSpan(0, Hidden), _h.AsSpan(0, Hidden), _w, 1, Hidden, Hidden);

    [Benchmark(Description = "GEMV, TensorPrimitives.Dot per row")]
    public void GemvTensorPrimitives()
    {
        for (int i = 0; i < Hidden; i++) _out[i] = TensorPrimitives.Dot<float>(_w.AsSpan(i * Hidden, Hidden), _h.AsSpan(0, Hidden));
    }

    [Benchmark(Description = "GEMV, naive loops")]
    public void GemvNaive()
    {
        for (int i = 0; i < Hidden; i++)
        {
            float sum = 0;
            for (int k = 0; k < Hidden; k++) sum += _w[i * Hidden + k] * _h[k];
            _out[i] = sum;
        }
    }

    [Benchmark(Description = "GEMV transposed dnext=draw·Whh (backward)")]
    public void GemvTransposed() => Gemm.Multiply(_policy, _out.AsSpan(0, Hidden), _draw.AsSpan(0, Hidden), _w, 1, Hidden, Hidden);

    [Benchmark(Description = "GEMV transposed, naive loops")]
    public void GemvTransposedNaive()
    {
        Array.Clear(_out, 0, Hidden);
        for (int k = 0; k < Hidden; k++)
            for (int j = 0; j < Hidden; j++) _out[j] += _draw[k] * _w[k * Hidden + j];
    }

    [Benchmark(Description = "tanh cell, naive loops")]
    public void TanhCellNaive()
    {
        for (int b = 0; b < B; b++)
            for (int i = 0; i < Hidden; i++)
            {
                float sum = _out[b * Hidden + i];
                for (int k = 0; k < Hidden; k++) sum += _h[b * Hidden + k] * _w[i * Hidden + k];
                _out[b * Hidden + i] = MathF.Tanh(sum);
            }
    }

    [Benchmark(Description = "tanh cell [B,H]·[H,H] fused")]
    public void TanhCell() => Gemm.Run<TanhEpilogue>(_policy, _out, _out, StridedMatrix.RowMajor(_h, B, Hidden), PanelView.RowMajor(_w, Hidden, Hidden), default);

    [Benchmark(Description = "logits GEMM [T·B,H]·[H,V]")]
    public void Logits() => Gemm.Multiply(_policy, _logitsWork, _hs, _w.AsSpan(0, Hidden * V), Positions, Hidden, V);

    [Benchmark(Description = "logits GEMM, naive loops")]
    public void LogitsNaive()
    {
        for (int r = 0; r < Positions; r++)
            for (int o = 0; o < V; o++)
            {
                float sum = 0;
                for (int k = 0; k < Hidden; k++) sum += _hs[r * Hidden + k] * _w[o * Hidden + k];
                _logitsWork[r * V + o] = sum;
            }
    }

    [Benchmark(Description = "dWhh = drawᵀ·h (K = T·B)")]
    public void WeightGradient() => Gemm.MultiplyTransposedA(_policy, _dWhh, _draw, PanelView.RowMajor(_hs, Positions, Hidden), Hidden);

    [Benchmark(Description = "dWhh, naive loops")]
    public void WeightGradientNaive()
    {
        Array.Clear(_dWhh);
        for (int r = 0; r < Positions; r++)
            for (int i = 0; i < Hidden; i++)
            {
                float d = _draw[r * Hidden + i];
                for (int j = 0; j < Hidden; j++) _dWhh[i * Hidden + j] += d * _hs[r * Hidden + j];
            }
    }

    [Benchmark(Description = "softmax-cross-entropy [T·B,V]")]
    public double SoftmaxCrossEntropy()
    {
        _logits.CopyTo(_logitsWork, 0);
        return Softmax.CrossEntropyWithGradient(_policy, _logitsWork, _targets, V, 1f / B);
    }

    [Benchmark(Description = "softmax, TensorPrimitives.SoftMax per row")]
    public void SoftmaxTensorPrimitives()
    {
        for (int r = 0; r < Positions; r++) TensorPrimitives.SoftMax<float>(_logits.AsSpan(r * V, V), _logitsWork.AsSpan(r * V, V));
    }

    [Benchmark(Description = "softmax-cross-entropy, naive loops")]
    public double SoftmaxCrossEntropyNaive()
    {
        double loss = 0;
        for (int r = 0; r < Positions; r++)
        {
            var x = _logits.AsSpan(r * V, V);
            var y = _logitsWork.AsSpan(r * V, V);
            float max = float.NegativeInfinity;
            foreach (float v in x) max = MathF.Max(max, v);
            float sum = 0;
            for (int i = 0; i < V; i++) sum += y[i] = MathF.Exp(x[i] - max);
            for (int i = 0; i < V; i++) y[i] = y[i] / sum / B;
            loss -= Math.Log(y[_targets[r]] * B);
            y[_targets[r]] -= 1f / B;
        }
        return loss;
    }

    [Benchmark(Description = "Adam, naive loop")]
    public void AdamNaive()
    {
        for (int i = 0; i < _p.Length; i++)
        {
            _m[i] = 0.9f * _m[i] + 0.1f * _g[i];
            _s[i] = 0.999f * _s[i] + 0.001f * _g[i] * _g[i];
            _p[i] -= 1e-3f / (1 - MathF.Pow(0.9f, 10)) * _m[i] / (MathF.Sqrt(_s[i] / (1 - MathF.Pow(0.999f, 10))) + 1e-8f);
        }
    }

    [Benchmark(Description = "Adam over the parameter block")]
    public void Adam() => Elementwise.Apply(_policy, new AdamOperator(1e-3, 0.9, 0.999, 1e-8, 10, GradientClip.None), _p, _g, _m, _s);
}
