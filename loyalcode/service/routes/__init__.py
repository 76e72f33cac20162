"""One router per area of the API: each declares its schemas, its scope and its
problem responses, and does its work through :func:`loyalcode.service.posts.answer`."""
