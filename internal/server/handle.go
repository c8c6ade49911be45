package server

import "net/http"

// reply answers with out as JSON and status, or with err as a problem when
// there is one (out is then not written).
func (s *Server) reply(w http.ResponseWriter, r *http.Request, status int, out any, err error) {
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, status, out)
}

// decodeCall reads the request's JSON body into an In (strictly, as decode
// does), hands it to call and answers with call's result as JSON and
// status. A body that does not decode is answered as a problem and call is
// not made; an error of call is answered as a problem too.
func decodeCall[In, Out any](s *Server, w http.ResponseWriter, r *http.Request, status int, call func(In) (Out, error)) {
	var in In
	if err := s.decode(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	out, err := call(in)
	s.reply(w, r, status, out, err)
}

// createdStatus is the status of a create-or-get request: 201 when it made
// the resource, 200 when the resource was there already (a retry).
func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}
