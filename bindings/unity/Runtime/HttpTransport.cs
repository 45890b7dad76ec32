// Host HTTP stacks driven from Tracker.Poll: the interface an engine's stack
// implements (IHttpTransport, IHttpExchange) and the one code path that runs
// every such stack (PolledHttpTransport): it starts an exchange when the
// library hands over a request, and on each later Poll ends the finished
// exchanges with at_transport_complete.
//
// In Unity the stack is UnityWebRequestTransport (UnityWebRequestTransport.cs);
// outside Unity (the Mono tests, a .NET host) HttpClientTransport
// (HttpClientTransport.cs) runs through the same path.

using System;
using System.Collections.Generic;
using System.Globalization;

namespace Attracker
{
    /// <summary>
    /// An HTTP stack for TrackerConfig.HttpTransport. Begin is called on the
    /// thread that calls Tracker.Poll (Unity's main thread), never concurrently
    /// for one tracker; it starts the exchange and returns at once.
    /// </summary>
    public interface IHttpTransport
    {
        /// <summary>
        /// Starts sending request (its Method, Url, Headers and Body). Throwing
        /// fails the request as "not reached" (the hits are kept, nothing counted).
        /// </summary>
        IHttpExchange Begin(HttpRequestData request);
    }

    /// <summary>
    /// One exchange started by IHttpTransport.Begin. Read on the polling thread
    /// only: IsDone on every Poll until it is true, then StatusCode, Error and
    /// GetResponseHeader once; then it is disposed.
    /// </summary>
    public interface IHttpExchange : IDisposable
    {
        /// <summary>The answer arrived or the exchange failed.</summary>
        bool IsDone { get; }

        /// <summary>The HTTP status of the answer; 0 when there is none (no connection, DNS, timeout).</summary>
        int StatusCode { get; }

        /// <summary>Why there is no answer (StatusCode 0); null or anything otherwise.</summary>
        string Error { get; }

        /// <summary>A header of the answer (name case-insensitive); null when absent.</summary>
        string GetResponseHeader(string name);
    }

    /// <summary>
    /// Runs an IHttpTransport for one tracker: Begin from the transport callback
    /// (inside Poll), Pump after each at_tracker_poll. Polling thread only,
    /// except Abandon (Close, Dispose), which takes the same lock.
    /// </summary>
    internal sealed class PolledHttpTransport
    {
        readonly IHttpTransport transport;
        readonly object mu = new object();
        readonly List<KeyValuePair<TransportRequest, IHttpExchange>> inFlight =
            new List<KeyValuePair<TransportRequest, IHttpExchange>>();

        internal PolledHttpTransport(IHttpTransport transport)
        {
            this.transport = transport;
        }

        /// <summary>Exchanges started and not yet ended.</summary>
        internal int InFlight
        {
            get
            {
                lock (mu)
                    return inFlight.Count;
            }
        }

        /// <summary>TrackerConfig.Transport's action: starts the exchange. A throw fails the request (Callbacks.OnTransport).</summary>
        internal void Begin(TransportRequest request)
        {
            IHttpExchange exchange = transport.Begin(request);
            if (exchange == null)
                throw new InvalidOperationException("attracker: IHttpTransport.Begin returned null");
            lock (mu)
                inFlight.Add(new KeyValuePair<TransportRequest, IHttpExchange>(request, exchange));
        }

        /// <summary>Ends every finished exchange; returns how many.</summary>
        internal int Pump()
        {
            List<KeyValuePair<TransportRequest, IHttpExchange>> done = null;
            lock (mu)
            {
                for (int i = 0; i < inFlight.Count; i++)
                {
                    bool finished;
                    try
                    {
                        finished = inFlight[i].Value.IsDone;
                    }
                    catch (Exception e)
                    {
                        Tracker.ReportCallbackException(e);
                        finished = true; // ended below as a failure
                    }
                    if (finished)
                    {
                        (done = done ?? new List<KeyValuePair<TransportRequest, IHttpExchange>>()).Add(inFlight[i]);
                        inFlight.RemoveAt(i--);
                    }
                }
            }
            if (done == null)
                return 0;
            foreach (var pair in done)
            {
                try
                {
                    Finish(pair.Key, pair.Value, DateTime.UtcNow);
                }
                catch (Exception e)
                {
                    Tracker.ReportCallbackException(e);
                }
                finally
                {
                    pair.Value.Dispose();
                }
            }
            return done.Count;
        }

        /// <summary>
        /// Ends every exchange still in flight as "not reached" (their hits stay
        /// stored) and disposes it: the tracker closed, nobody will poll again.
        /// </summary>
        internal void Abandon(string why)
        {
            List<KeyValuePair<TransportRequest, IHttpExchange>> left;
            lock (mu)
            {
                left = new List<KeyValuePair<TransportRequest, IHttpExchange>>(inFlight);
                inFlight.Clear();
            }
            foreach (var pair in left)
            {
                try
                {
                    pair.Value.Dispose();
                }
                catch (Exception e)
                {
                    Tracker.ReportCallbackException(e);
                }
                pair.Key.EndQuietly(() => Native.at_transport_complete(pair.Key.Request, TransportStatus.Unreachable, 0,
                    Native.Utf8(why)));
            }
        }

        /// <summary>
        /// The answer of a finished exchange to the library: a status (with
        /// Retry-After and Content-Type) or, without one, a failure that never
        /// reached the collector. A stack cannot tell a connect timeout from a
        /// read timeout, so every exchange without an answer is "not reached":
        /// no attempt is counted and the hits stay stored.
        /// </summary>
        internal static void Finish(TransportRequest request, IHttpExchange exchange, DateTime nowUtc)
        {
            int status;
            try
            {
                status = exchange.StatusCode;
            }
            catch (Exception e)
            {
                request.Fail("the HTTP stack failed: " + e.Message);
                throw;
            }
            if (status >= 100 && status <= 599)
                request.Complete(status,
                    RetryAfterMs(exchange.GetResponseHeader("Retry-After"), nowUtc),
                    exchange.GetResponseHeader("Content-Type"));
            else
            {
                string error = exchange.Error;
                if (string.IsNullOrEmpty(error))
                    error = status == 0 ? "no answer" : "invalid HTTP status " + status;
                request.Fail(error, serverReached: false);
            }
        }

        /// <summary>
        /// A Retry-After header in milliseconds from nowUtc: delta-seconds or an
        /// HTTP date (RFC 9110, IMF-fixdate and the two obsolete forms); 0 when
        /// absent, unreadable or in the past. The library caps the wait at an hour.
        /// </summary>
        internal static long RetryAfterMs(string value, DateTime nowUtc)
        {
            if (string.IsNullOrEmpty(value))
                return 0;
            value = value.Trim();
            if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds))
                return seconds > long.MaxValue / 1000 ? long.MaxValue : seconds * 1000;
            string[] formats = { "r", "dddd, dd-MMM-yy HH:mm:ss 'GMT'", "ddd MMM d HH:mm:ss yyyy" };
            if (DateTime.TryParseExact(value, formats, CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowInnerWhite,
                    out DateTime when))
            {
                double ms = (when - nowUtc).TotalMilliseconds;
                return ms > 0 ? (long)Math.Ceiling(ms) : 0;
            }
            return 0;
        }
    }
}
