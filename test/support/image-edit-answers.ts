import type http from 'node:http';

/**
 * An origin's handler that reads each request's body to its end and answers as OpenAI answers an image edit,
 * counting the requests that reached it: the tests that refuse a request show it never got there.
 */
export function imageEditAnswers(): { handler: http.RequestListener; requests(): number } {
  let requests = 0;
  return {
    handler: (req, res) => {
      requests++;
      req.resume();
      req.once('end', () => res.end('{"created":1,"data":[]}'));
    },
    requests: () => requests,
  };
}
