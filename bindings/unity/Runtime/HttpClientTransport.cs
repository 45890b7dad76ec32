// IHttpTransport on System.Net.Http.HttpClient: the twin of
// UnityWebRequestTransport outside Unity (a .NET or Mono host, and the Mono
// tests, which run it through the same PolledHttpTransport path). Not compiled
// by Unity (UNITY_5_3_OR_NEWER), where UnityWebRequest is the stack to use and
// System.Net.Http is not referenced by default.

#if !UNITY_5_3_OR_NEWER
using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace Attracker
{
    /// <summary>
    /// Sends with one shared HttpClient. Begin starts SendAsync and returns at
    /// once; the exchange is done when its task is. Redirects are not followed
    /// (a 3xx is a captive portal's answer, "not reached"). Dispose the
    /// transport after the trackers using it are disposed.
    /// </summary>
    [Preserve]
    public sealed class HttpClientTransport : IHttpTransport, IDisposable
    {
        readonly HttpClient client;

        /// <param name="timeoutMs">Whole-exchange timeout; a timed-out exchange has no answer (StatusCode 0).</param>
        public HttpClientTransport(int timeoutMs = 30000)
        {
            if (timeoutMs <= 0)
                throw new ArgumentOutOfRangeException(nameof(timeoutMs));
            client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false })
            {
                Timeout = TimeSpan.FromMilliseconds(timeoutMs),
            };
        }

        public IHttpExchange Begin(HttpRequestData request)
        {
            if (request == null)
                throw new ArgumentNullException(nameof(request));
            var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Url);
            if (request.Method == "POST")
                message.Content = new ByteArrayContent(request.Body);
            foreach (KeyValuePair<string, string> h in request.Headers)
                // Content-Type and Content-Encoding belong to the content.
                if (!message.Headers.TryAddWithoutValidation(h.Key, h.Value)
                    && (message.Content == null || !message.Content.Headers.TryAddWithoutValidation(h.Key, h.Value)))
                    throw new ArgumentException("attracker: HttpClient refused the header " + h.Key);
            var cancel = new CancellationTokenSource();
            return new Exchange(client.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancel.Token),
                                message, cancel);
        }

        public void Dispose() => client.Dispose();

        sealed class Exchange : IHttpExchange
        {
            readonly Task<HttpResponseMessage> task;
            readonly HttpRequestMessage message;
            readonly CancellationTokenSource cancel;

            internal Exchange(Task<HttpResponseMessage> task, HttpRequestMessage message, CancellationTokenSource cancel)
            {
                this.task = task;
                this.message = message;
                this.cancel = cancel;
            }

            public bool IsDone => task.IsCompleted;

            HttpResponseMessage Response => task.Status == TaskStatus.RanToCompletion ? task.Result : null;

            public int StatusCode => Response == null ? 0 : (int)Response.StatusCode;

            public string Error
            {
                get
                {
                    if (task.IsCanceled)
                        return "timed out";
                    if (task.IsFaulted)
                    {
                        Exception e = task.Exception.GetBaseException();
                        return e.Message;
                    }
                    return null;
                }
            }

            public string GetResponseHeader(string name)
            {
                HttpResponseMessage r = Response;
                if (r == null)
                    return null;
                if (r.Headers.TryGetValues(name, out IEnumerable<string> values)
                    || (r.Content != null && r.Content.Headers.TryGetValues(name, out values)))
                    return string.Join(", ", values);
                return null;
            }

            public void Dispose()
            {
                if (!task.IsCompleted)
                    cancel.Cancel();
                else
                    Response?.Dispose();
                message.Dispose();
                cancel.Dispose();
            }
        }
    }
}
#endif
