using System.Diagnostics;
using System.Runtime.InteropServices;

namespace CharRnn.Cli.Commands;

/// <summary>
/// Ctrl+C (SIGINT), SIGTERM or a hang-up (SIGHUP: the terminal closed, the ssh session dropped) during training, or
/// while a corpus is read (<see cref="CorpusText.Open"/>). The first one asks the run to stop after the current step:
/// it cancels <see cref="Token"/> (so a validation pass under way ends at its next chunk) and calls <c>onFirst</c> to
/// say what happens. A second one calls <c>onSecond</c> (which says what it does) and ends the process at once with
/// exit code 130 — unless it comes within <see cref="Grace"/> of the first: that is the same request delivered twice
/// (GNU <c>timeout</c> signals the process, then its whole process group), not a person pressing Ctrl+C again. A
/// hang-up is never a second request, and after one no signal is (a SIGTERM from the session's manager, say: nobody can
/// press Ctrl+C on a closed terminal), so the run saves. After a hang-up nothing can be shown any more and a write to the closed terminal
/// would fail, so standard output and error that went to it are silenced first (<see cref="Output.Terminal"/>) and the
/// run still saves and ends. Once the run has begun the save that ends it (<see cref="FinishFirst"/>) a second request
/// changes nothing either: the save is finished and reported, once. Until disposed; after that a signal has its default
/// effect.
/// </summary>
internal sealed class StopRequest : IDisposable
{
    public const int ExitCode = 130;

    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration _interrupt, _terminate, _hangUp;
    private readonly Action _onFirst, _onSecond;
    private long _firstAt; // Stopwatch timestamp of the first signal; 0 before it
    private int _ending;   // Open, then Quitting (a second request won) or Finishing (the run's last save won): taken once

    private const int Open = 0, Quitting = 1, Finishing = 2;

    /// <summary>Signals this soon after the first are the first one again.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(250);

    public StopRequest(Action onFirst, Action onSecond)
    {
        _onFirst = onFirst;
        _onSecond = onSecond;
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        _hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            Output.Terminal.HungUp();
            if (Interlocked.Read(ref _firstAt) == 0) OnSignal(context);
            else context.Cancel = true; // nobody asks twice by hanging up: the shell passing its own SIGHUP on, say
        });
    }

    public bool IsRequested => _stop.IsCancellationRequested;

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>
    /// Before the save that ends the run (the one a first request asked for, or a completed run's): from here a second
    /// request changes nothing, so the run reports that it saved and nothing else. If a second request came first, its
    /// handler is ending the process without saving and has said so: this never returns (a report or a save now would
    /// contradict it).
    /// </summary>
    public void FinishFirst()
    {
        if (Interlocked.CompareExchange(ref _ending, Finishing, Open) == Quitting) Thread.Sleep(Timeout.Infinite);
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        long now = Stopwatch.GetTimestamp();
        long first = Interlocked.CompareExchange(ref _firstAt, now, 0);
        if (first == 0)
        {
            _stop.Cancel();
            _onFirst();
        }
        else if (Stopwatch.GetElapsedTime(first, now) >= Grace && !Output.Terminal.IsHungUp
                 && Interlocked.CompareExchange(ref _ending, Quitting, Open) == Open) // not once the last save has begun, nor twice
        {
            _onSecond();
            Environment.Exit(ExitCode);
        }
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _hangUp.Dispose();
        _terminate.Dispose(); // _stop stays undisposed: a handler already under way may still cancel it
    }
}

/// <summary>
/// A command stopped by Ctrl+C, SIGTERM or a hang-up before it had anything to save, its temporary files removed: the message goes
/// to stderr and the exit code is <see cref="StopRequest.ExitCode"/>.
/// </summary>
internal sealed class StoppedException(string message) : Exception(message);
