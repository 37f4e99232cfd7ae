"""The points mall: goods, the catalogue a family sees, redemption (Python, and the PL/pgSQL
path on PostgreSQL), and the order desk where staff hand out or cancel orders."""
