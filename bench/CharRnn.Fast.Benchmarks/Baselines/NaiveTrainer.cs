using CharRnn.Fast.Model;
using CharRnn.Fast.Tests.Reference;

namespace CharRnn.Fast.Benchmarks;

/// <summary>
/// The naive reference (the tests' oracle: plain loops in double precision, mirroring min-char-rnn) driven as a
/// trainer and a generator on the benchmark workload: the baseline every speed-up is measured against.
/// </summary>
public sealed class NaiveTrainer
{
    private readonly NaiveRnn _rnn;
    private readonly NaiveTensors _m, _v;
    private readonly int[] _tokens;
    private readonly int _batch, _steps = Workload.SequenceLength;
    private double[][] _state;
    private double[] _generationState;
    private int _cursor, _t;
    private readonly Random _rng = new(1);

    public NaiveTrainer(int vocabulary, int hidden, int batch, int[] tokens)
    {
        _rnn = new NaiveRnn(vocabulary, hidden, vocabulary, Nonlinearity.Tanh);
        var rng = new Random(1);
        foreach (var t in new[] { _rnn.P.Wxh, _rnn.P.Whh, _rnn.P.Why })
            for (int i = 0; i < t.Length; i++) t[i] = (rng.NextDouble() - 0.5) * 0.02;
        _m = new NaiveTensors(vocabulary, hidden, vocabulary);
        _v = new NaiveTensors(vocabulary, hidden, vocabulary);
        _tokens = tokens;
        _batch = batch;
        _state = Enumerable.Range(0, batch).Select(_ => new double[hidden]).ToArray();
        _generationState = new double[hidden];
    }

    /// <summary>One step: forward/backward over T × B (data order of the engine), clip ±5, Adam.</summary>
    public double TrainStep()
    {
        int shard = (_tokens.Length - 1) / _batch;
        if ((_cursor + 1) * _steps > shard) _cursor = 0;
        var inputs = new int[_steps * _batch];
        var targets = new int[_steps * _batch];
        for (int t = 0; t < _steps; t++)
            for (int b = 0; b < _batch; b++)
            {
                int pos = b * shard + _cursor * _steps + t;
                inputs[t * _batch + b] = _tokens[pos];
                targets[t * _batch + b] = _tokens[pos + 1];
            }
        var chunk = _rnn.ForwardBackward(inputs, targets, _steps, _batch, _state);
        NaiveOptimizers.ClipElementwise(chunk.Gradients, 5);
        NaiveOptimizers.Adam(_rnn.P, chunk.Gradients, _m, _v, ++_t, 1e-3, 0.9, 0.999, 1e-8);
        _state = chunk.FinalStates;
        _cursor++;
        return chunk.LossSum / (_steps * _batch);
    }

    /// <summary>One generated character: cell, output, softmax, a temperature-1 draw.</summary>
    public int GenerateNext(int token)
    {
        _generationState = _rnn.Cell(_rnn.OneHot(token), _generationState);
        var p = NaiveRnn.Softmax(_rnn.Output(_generationState));
        double u = _rng.NextDouble(), cumulative = 0;
        for (int i = 0; i < p.Length; i++)
        {
            cumulative += p[i];
            if (u < cumulative) return i;
        }
        return p.Length - 1;
    }
}
