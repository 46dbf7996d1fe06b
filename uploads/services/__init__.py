"""Services of the uploads app: register, receive (chunked or whole), import, clean up."""
