"""Signed webhooks for routine.updated: endpoints registered per client, a dispatcher that
consumes the routines exchange and POSTs thin notifications (Standard Webhooks)."""
