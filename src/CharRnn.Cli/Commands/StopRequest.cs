using System.Runtime.InteropServices;

namespace CharRnn.Cli.Commands;

/// <summary>
/// Ctrl+C (SIGINT) or SIGTERM during training. The first one asks the run to stop after the current step: it cancels
/// <see cref="Token"/> (so a validation pass under way ends at its next chunk) and calls <c>onFirst</c> to say what
/// happens. A second one calls <c>onSecond</c> (which says what it does) and ends the process at once with exit code
/// 130. Until disposed; after that a signal has its default effect.
/// </summary>
internal sealed class StopRequest : IDisposable
{
    public const int ExitCode = 130;

    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration _interrupt, _terminate;
    private readonly Action _onFirst, _onSecond;
    private int _signals;

    public StopRequest(Action onFirst, Action onSecond)
    {
        _onFirst = onFirst;
        _onSecond = onSecond;
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    public bool IsRequested => _stop.IsCancellationRequested;

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _stop.Token;

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Interlocked.Increment(ref _signals) == 1)
        {
            _stop.Cancel();
            _onFirst();
        }
        else
        {
            _onSecond();
            Environment.Exit(ExitCode);
        }
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose(); // _stop stays undisposed: a handler already under way may still cancel it
    }
}
