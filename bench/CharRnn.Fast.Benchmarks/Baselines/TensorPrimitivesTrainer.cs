using System.Numerics.Tensors;

namespace CharRnn.Fast.Benchmarks;

/// <summary>
/// What the obvious .NET approach gets: min-char-rnn's per-step loops in the math layout (Wxh [H,V], Whh [H,H],
/// Why [V,H]), each vector operation a <see cref="TensorPrimitives"/> call (Dot, MultiplyAdd, Tanh, SoftMax), Adam and
/// clip ±5 over one flat block. B streams run one after the other. Preallocated, so it allocates nothing either.
/// </summary>
public sealed class TensorPrimitivesTrainer
{
    private readonly int _v, _h, _batch, _t = Workload.SequenceLength;
    private readonly int[] _tokens;
    private readonly float[] _p, _g, _m, _s, _tmp, _tmp2;   // parameters, gradient, Adam m and v, scratch: one flat block each
    private readonly int _whh, _bh, _why, _by;               // offsets of each tensor (Wxh at 0)
    private readonly float[][] _hs, _probs;
    private readonly float[] _dh, _draw, _dnext, _hGen, _yGen;
    private int _cursor, _step;

    public TensorPrimitivesTrainer(int vocabulary, int hidden, int batch, int[] tokens)
    {
        _v = vocabulary; _h = hidden; _batch = batch; _tokens = tokens;
        _whh = _h * _v; _bh = _whh + _h * _h; _why = _bh + _h; _by = _why + _v * _h;
        int n = _by + _v;
        _p = new float[n]; _g = new float[n]; _m = new float[n]; _s = new float[n]; _tmp = new float[n]; _tmp2 = new float[n];
        var rng = new Random(1);
        for (int i = 0; i < _bh; i++) _p[i] = (float)(rng.NextDouble() - 0.5) * 0.02f;
        for (int i = _why; i < _by; i++) _p[i] = (float)(rng.NextDouble() - 0.5) * 0.02f;
        _hs = new float[_t + 1][];
        _probs = new float[_t][];
        for (int i = 0; i <= _t; i++) _hs[i] = new float[_h];
        for (int i = 0; i < _t; i++) _probs[i] = new float[_v];
        _dh = new float[_h]; _draw = new float[_h]; _dnext = new float[_h]; _hGen = new float[_h]; _yGen = new float[_v];
    }

    private Span<float> Row(float[] block, int offset, int row, int width) => block.AsSpan(offset + row * width, width);

    public double TrainStep()
    {
        Array.Clear(_g);
        double loss = 0;
        int shard = (_tokens.Length - 1) / _batch;
        if ((_cursor + 1) * _t > shard) _cursor = 0;
        for (int b = 0; b < _batch; b++)
        {
            int start = b * shard + _cursor * _t;
            // forward, one step at a time
            for (int t = 0; t < _t; t++)
            {
                int x = _tokens[start + t];
                var h = _hs[t + 1];
                for (int i = 0; i < _h; i++)
                    h[i] = _p[i * _v + x] + _p[_bh + i] + TensorPrimitives.Dot<float>(Row(_p, _whh, i, _h), _hs[t]);
                TensorPrimitives.Tanh<float>(h, h);
                var y = _probs[t];
                for (int o = 0; o < _v; o++) y[o] = TensorPrimitives.Dot<float>(Row(_p, _why, o, _h), h) + _p[_by + o];
                TensorPrimitives.SoftMax<float>(y, y);
                loss -= Math.Log(y[_tokens[start + t + 1]]);
            }
            // backward through time
            Array.Clear(_dnext);
            for (int t = _t - 1; t >= 0; t--)
            {
                var dy = _probs[t];
                dy[_tokens[start + t + 1]] -= 1;
                var h = _hs[t + 1];
                _dnext.CopyTo(_dh, 0);
                for (int o = 0; o < _v; o++)
                {
                    var dWhy = Row(_g, _why, o, _h);
                    TensorPrimitives.MultiplyAdd<float>(h, dy[o], dWhy, dWhy);
                    TensorPrimitives.MultiplyAdd<float>(Row(_p, _why, o, _h), dy[o], _dh, _dh);
                    _g[_by + o] += dy[o];
                }
                // draw = (1 − h²) ⊙ dh
                TensorPrimitives.Multiply<float>(h, h, _draw);
                TensorPrimitives.Subtract<float>(1f, _draw, _draw);
                TensorPrimitives.Multiply<float>(_draw, _dh, _draw);
                int x = _tokens[start + t];
                Array.Clear(_dnext);
                for (int i = 0; i < _h; i++)
                {
                    var dWhh = Row(_g, _whh, i, _h);
                    TensorPrimitives.MultiplyAdd<float>(_hs[t], _draw[i], dWhh, dWhh);
                    TensorPrimitives.MultiplyAdd<float>(Row(_p, _whh, i, _h), _draw[i], _dnext, _dnext);
                    _g[i * _v + x] += _draw[i];
                    _g[_bh + i] += _draw[i];
                }
            }
            _hs[_t].CopyTo(_hs[0], 0);
        }
        _cursor++;
        // clip ±5, then Adam (β1 0.9, β2 0.999, lr 1e-3)
        TensorPrimitives.Min<float>(_g, 5f, _g);
        TensorPrimitives.Max<float>(_g, -5f, _g);
        _step++;
        const float b1 = 0.9f, b2 = 0.999f, lr = 1e-3f, eps = 1e-8f;
        TensorPrimitives.Multiply<float>(_g, 1 - b1, _tmp);
        TensorPrimitives.MultiplyAdd<float>(_m, b1, _tmp, _m);
        TensorPrimitives.Multiply<float>(_g, _g, _tmp);
        TensorPrimitives.Multiply<float>(_tmp, 1 - b2, _tmp);
        TensorPrimitives.MultiplyAdd<float>(_s, b2, _tmp, _s);
        TensorPrimitives.Multiply<float>(_s, (float)(1 / (1 - Math.Pow(b2, _step))), _tmp2);
        TensorPrimitives.Sqrt<float>(_tmp2, _tmp2);
        TensorPrimitives.Add<float>(_tmp2, eps, _tmp2);
        TensorPrimitives.Multiply<float>(_m, (float)(lr / (1 - Math.Pow(b1, _step))), _tmp);
        TensorPrimitives.Divide<float>(_tmp, _tmp2, _tmp);
        TensorPrimitives.Subtract<float>(_p, _tmp, _p);
        return loss / (_t * _batch);
    }

    /// <summary>One generated character by the same loops: h = tanh(Wxh[:,x] + bh + Whh·h), p = softmax(Why·h + by), argmax.</summary>
    public int GenerateNext(int x)
    {
        for (int i = 0; i < _h; i++) _draw[i] = _p[i * _v + x] + _p[_bh + i] + TensorPrimitives.Dot<float>(Row(_p, _whh, i, _h), _hGen);
        TensorPrimitives.Tanh<float>(_draw, _hGen);
        for (int o = 0; o < _v; o++) _yGen[o] = TensorPrimitives.Dot<float>(Row(_p, _why, o, _h), _hGen) + _p[_by + o];
        TensorPrimitives.SoftMax<float>(_yGen, _yGen);
        return TensorPrimitives.IndexOfMax<float>(_yGen);
    }
}
